"""A transformers TrainerCallback that writes LLaMA-Factory's trainer_log.jsonl shape.

LLaMA-Factory writes one JSON line per logging event (current_steps, total_steps, loss, lr, epoch,
percentage, elapsed_time, remaining_time, …; keys without a value are left out). The job page's
progress bar, ETA and loss curves read that shape, so TRL runs on the local target write it too.
Runs in the ML environment.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

from transformers import TrainerCallback


def line(logs: dict, step: int, total: int, epoch, elapsed: float) -> dict:
    remaining = (total - step) * elapsed / step if step and total else 0
    record = {
        "current_steps": step, "total_steps": total,
        "loss": logs.get("loss"), "eval_loss": logs.get("eval_loss"),
        "reward": logs.get("reward"), "eval_reward": logs.get("eval_reward"),
        "lr": logs.get("learning_rate"), "epoch": round(epoch, 2) if epoch is not None else None,
        "percentage": round(step / total * 100, 2) if total else 100,
        "elapsed_time": str(timedelta(seconds=int(elapsed))),
        "remaining_time": str(timedelta(seconds=int(remaining))),
    }
    return {key: value for key, value in record.items() if value is not None}


class TrainerLogCallback(TrainerCallback):
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.start = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.monotonic()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        elapsed = time.monotonic() - (self.start or time.monotonic())
        record = line(logs, state.global_step, state.max_steps, state.epoch, elapsed)
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")
