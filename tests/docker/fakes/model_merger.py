"""Fake EasyR1 scripts/model_merger.py --local_dir <actor>."""

import json
import os
import sys
from pathlib import Path

actor = Path(sys.argv[sys.argv.index("--local_dir") + 1])
assert actor.name == "actor" and any(actor.glob("*.pt"))
with open(os.environ["FAKE_CALLS"], "a") as f:
    f.write(json.dumps({"cmd": "merge", "argv": sys.argv[1:]}) + "\n")
(actor / "huggingface").mkdir(exist_ok=True)
(actor / "huggingface" / "model.safetensors").write_text("hf")
