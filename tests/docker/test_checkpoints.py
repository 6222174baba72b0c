"""Resume from the newest COMPLETE checkpoint; when a node may mark one complete."""

import os
import time

from modelhub_train import checkpoints
from modelhub_train.checkpoints import Checkpoint, marker_name, plan_resume, ready_to_mark

HOSTS = ("algo-1", "algo-2")
LF, R1 = "checkpoint-*", "global_step_*"


def ck(step, *hosts, state=True, pattern=LF, mtime=0.0):
    name = f"checkpoint-{step}" if pattern == LF else f"global_step_{step}"
    files = {marker_name(h) for h in hosts} | ({"trainer_state.json"} if state else set()) | {"adapter_model.safetensors"}
    return Checkpoint(name, step, frozenset(files), mtime)


def test_newest_complete_wins_and_newer_partial_ones_are_discarded():
    plan = plan_resume([ck(100, *HOSTS), ck(300, "algo-1"), ck(200, *HOSTS), ck(400)], HOSTS, LF)
    assert plan.resume_from == "checkpoint-200"
    assert plan.discard == ("checkpoint-300", "checkpoint-400")


def test_llamafactory_needs_trainer_state():
    assert plan_resume([ck(100, *HOSTS, state=False)], HOSTS, LF).resume_from is None
    assert plan_resume([ck(100, *HOSTS, state=False, pattern=R1)], HOSTS, R1).resume_from == "global_step_100"


def test_nothing_complete_means_fresh_start():
    plan = plan_resume([ck(10, "algo-2")], HOSTS, LF)
    assert plan.resume_from is None and plan.discard == ("checkpoint-10",)
    assert plan_resume([], HOSTS, LF).resume_from is None


def test_step_order_is_numeric():
    plan = plan_resume([ck(9, *HOSTS), ck(10, *HOSTS)], HOSTS, LF)
    assert plan.resume_from == "checkpoint-10"


def test_ready_to_mark():
    now = 10_000.0
    fresh = ck(5, mtime=now - 10)
    assert ready_to_mark(fresh, newer_exists=True, training_succeeded=False, now=now, is_master=True, pattern=LF)
    assert ready_to_mark(fresh, newer_exists=False, training_succeeded=True, now=now, is_master=True, pattern=LF)
    assert not ready_to_mark(fresh, newer_exists=False, training_succeeded=False, now=now, is_master=True, pattern=LF)
    quiet = ck(5, mtime=now - 1000)
    assert ready_to_mark(quiet, newer_exists=False, training_succeeded=False, now=now, is_master=True, pattern=LF)
    quiet_no_state = ck(5, state=False, mtime=now - 1000)
    assert not ready_to_mark(quiet_no_state, newer_exists=False, training_succeeded=False, now=now, is_master=True,
                             pattern=LF)
    assert ready_to_mark(quiet_no_state, newer_exists=False, training_succeeded=False, now=now, is_master=False,
                         pattern=LF)  # other nodes hold only their shards


def test_scan_reads_folders_and_ignores_markers_for_mtime(tmp_path):
    (tmp_path / "checkpoint-20").mkdir()
    (tmp_path / "checkpoint-20" / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-3" / "global_step3").mkdir(parents=True)
    (tmp_path / "checkpoint-3" / "global_step3" / "shard.pt").write_text("x")
    (tmp_path / "checkpoint-x").mkdir()
    (tmp_path / "trainer_log.jsonl").write_text("")
    old = time.time() - 5000
    for path in tmp_path.rglob("*"):
        os.utime(path, (old, old))
    (tmp_path / "checkpoint-3" / marker_name("algo-1")).touch()
    found = checkpoints.scan(tmp_path, LF)
    assert [c.name for c in found] == ["checkpoint-3", "checkpoint-20"]
    assert found[0].marked_by() == {"algo-1"}
    assert found[1].files == {"trainer_state.json"}
    assert checkpoints.scan(tmp_path / "missing", LF) == []
