"""What a node does after training, decided from the manifest alone."""

from __future__ import annotations

import dataclasses

from .checkpoints import Checkpoint, is_complete


@dataclasses.dataclass(frozen=True)
class Finish:
    merge: str | None  # "llamafactory" (export YAML), "easyr1" (model_merger) or None
    uploads: tuple[dict, ...]  # what to upload, in order


def finish_plan(manifest: dict, *, is_master: bool, training_succeeded: bool) -> Finish:
    """Only the master merges and uploads, and only after a successful run. LoRA and QLoRA adapters
    are merged (QLoRA into the unquantized base); EasyR1 actors are always exported to HF format."""
    if not (is_master and training_succeeded):
        return Finish(None, ())
    if manifest["tool"] == "easyr1":
        return Finish("easyr1", tuple(manifest.get("uploads", ())))
    merge = "llamafactory" if manifest.get("merge_config") else None
    return Finish(merge, tuple(manifest.get("uploads", ())))


def last_complete(checkpoints: list[Checkpoint], hosts, pattern: str) -> Checkpoint | None:
    complete = [c for c in checkpoints if is_complete(c, hosts, pattern)]
    return max(complete, key=lambda c: c.step) if complete else None
