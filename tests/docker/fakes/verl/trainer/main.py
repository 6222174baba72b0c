"""Fake `python -m verl.trainer.main config=<yaml> [dotted=overrides]`."""

import json
import os
import sys
from pathlib import Path

import yaml

args = dict(arg.split("=", 1) for arg in sys.argv[1:])
config = yaml.safe_load(Path(args.pop("config")).read_text())
reward_file = config["worker"]["reward"]["reward_function"].rsplit(":", 1)[0]
assert Path(reward_file).exists(), f"missing reward function {reward_file}"
assert Path(config["data"]["train_files"].split("@")[0]).exists(), "missing train file"
with open(os.environ["FAKE_CALLS"], "a") as f:
    f.write(json.dumps({"cmd": "easyr1", "argv": sys.argv[1:]}) + "\n")
root = Path(config["trainer"]["save_checkpoint_path"])
root.mkdir(parents=True, exist_ok=True)
with open(root / "experiment_log.jsonl", "a") as log:
    for step in (1, 2):
        actor = root / f"global_step_{step}" / "actor"
        actor.mkdir(parents=True, exist_ok=True)
        (actor / "model_world_size_1_rank_0.pt").write_text("shard")
        log.write(json.dumps({"step": step, "actor/pg_loss": 0.1 * step}) + "\n")
(root / "checkpoint_tracker.json").write_text(json.dumps({"last_global_step": 2}))
