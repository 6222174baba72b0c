"""Fake `llamafactory-cli` (train / export)."""

import json
import os
import sys
from pathlib import Path

import yaml


SECRET_VARIABLES = ("WANDB_API_KEY", "SWANLAB_API_KEY", "HF_TOKEN")


def record(entry):
    entry["secrets"] = {name: os.environ[name] for name in SECRET_VARIABLES if name in os.environ}
    with open(os.environ["FAKE_CALLS"], "a") as f:
        f.write(json.dumps(entry) + "\n")


def train(config_path, overrides):
    config = yaml.safe_load(Path(config_path).read_text())
    out = Path(config["output_dir"])
    info = json.loads(Path(config["dataset_dir"], "dataset_info.json").read_text())
    for name in config["dataset"].split(","):
        entry = info[name]  # KeyError fails the run, as LLaMA-Factory would
        if "file_name" in entry:
            path = Path(entry["file_name"])
            path = path if path.is_absolute() else Path(config["dataset_dir"], path)
            assert path.exists(), f"missing dataset file {path}"
    existing = sorted(p.name for p in out.glob("checkpoint-*")) if out.exists() else []
    record({"cmd": "train", "argv": sys.argv[1:], "force_torchrun": os.environ.get("FORCE_TORCHRUN"),
            "existing_checkpoints": existing})
    if os.environ.get("FAKE_FAIL"):
        print("Traceback (most recent call last):\nRuntimeError: CUDA out of memory", flush=True)
        sys.exit(3)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "trainer_log.jsonl", "a") as log:
        for step in (5, 10):
            ckpt = out / f"checkpoint-{step}"
            ckpt.mkdir(exist_ok=True)
            (ckpt / "adapter_model.safetensors").write_text("weights")
            (ckpt / "trainer_state.json").write_text(json.dumps({"global_step": step}))
            log.write(json.dumps({"current_steps": step, "total_steps": 10, "loss": 2.0 / step}) + "\n")
            print(f"{{'loss': {2.0 / step}, 'learning_rate': 1e-05, 'epoch': {step / 10}}}", flush=True)
    (out / "adapter_model.safetensors").write_text("final")
    (out / "adapter_config.json").write_text("{}")


def export(config_path):
    config = yaml.safe_load(Path(config_path).read_text())
    assert "quantization_bit" not in config, "merging into a quantized base"
    assert Path(config["adapter_name_or_path"], "adapter_model.safetensors").exists()
    record({"cmd": "export", "argv": sys.argv[1:], "force_torchrun": os.environ.get("FORCE_TORCHRUN")})
    out = Path(config["export_dir"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.safetensors").write_text("merged")
    (out / "config.json").write_text("{}")


if __name__ == "__main__":
    command, config_path, *rest = sys.argv[1:]
    train(config_path, rest) if command == "train" else export(config_path)
