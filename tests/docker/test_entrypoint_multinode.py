"""Multi-node EasyR1: the master gathers the workers' FSDP shards through S3 (moto) before exporting,
and markers of an earlier attempt never count. The worker runs in a thread; `ray` is a stand-in."""

import json
import shutil
import stat
import sys
import threading
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from modelhub_train import checkpoints, handshake, hosts, run

FAKES = Path(__file__).parent / "fakes"
CK = "s3://bkt/jobs/j/checkpoints/"


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    for key, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ray = bin_dir / "ray"
    ray.write_text(f"#!{sys.executable}\nimport sys\nsys.exit(0)\n")
    ray.chmod(ray.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("FAKE_CALLS", str(tmp_path / "calls.jsonl"))
    monkeypatch.setattr(run, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(run, "RAY_JOIN_WAIT", 0)
    monkeypatch.setattr(run, "COLLECT_TIMEOUT", 20)
    monkeypatch.setattr(run, "_wait_for_ray_nodes", lambda count: None)
    sm = {"SM_HOSTS": json.dumps(["algo-1", "algo-2"])}
    master = hosts.node_from_env({**sm, "SM_CURRENT_HOST": "algo-1"})
    worker = hosts.node_from_env({**sm, "SM_CURRENT_HOST": "algo-2"})
    easyr1_root = tmp_path / "easyr1"
    (easyr1_root / "scripts").mkdir(parents=True)
    shutil.copy(FAKES / "model_merger.py", easyr1_root / "scripts" / "model_merger.py")

    def manifest(name):
        root = tmp_path / name / "easyr1"
        actor = root / "global_step_2" / "actor"
        actor.mkdir(parents=True)
        rank = 0 if name == "master" else 1
        (actor / f"model_world_size_2_rank_{rank}.pt").write_text(f"shard {rank}")
        (root / "global_step_2" / checkpoints.marker_name(f"algo-{rank + 1}")).touch()
        return {"tool": "easyr1", "merge_config": None, "gpus_per_node": 1, "checkpoint_root": str(root),
                "checkpoint_pattern": "global_step_*", "paths": {"easyr1_root": str(easyr1_root)},
                "uploads": [{"what": "huggingface", "uri": "s3://bkt/jobs/j/huggingface/"}]}

    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="bkt")
        yield s3, master, worker, manifest("master"), manifest("worker")


def test_master_gathers_worker_shards_then_exports(cluster):
    s3, master, worker, master_manifest, worker_manifest = cluster
    # Markers of an earlier attempt (spot restart) must not stop or confuse this run.
    s3.put_object(Bucket="bkt", Key="jobs/j/checkpoints/.modelhub-run", Body=b"old")
    s3.put_object(Bucket="bkt", Key="jobs/j/checkpoints/handshake/old/.modelhub-done", Body=b"done")
    s3.put_object(Bucket="bkt", Key="jobs/j/checkpoints/handshake/old/.modelhub-uploaded-algo-2", Body=b"x")

    coordination = run.start_ray_cluster(master_manifest, master, CK)
    assert "handshake/old/" not in coordination
    thread = threading.Thread(target=run.train_easyr1, args=(worker_manifest, worker, None, CK), daemon=True)
    thread.start()

    run.finish(master_manifest, master, coordination)
    actor = Path(master_manifest["checkpoint_root"], "global_step_2", "actor")
    assert sorted(p.name for p in actor.glob("*.pt")) == ["model_world_size_2_rank_0.pt", "model_world_size_2_rank_1.pt"]
    hf = s3.list_objects_v2(Bucket="bkt", Prefix="jobs/j/huggingface/")["Contents"]
    assert [o["Key"] for o in hf] == ["jobs/j/huggingface/model.safetensors"]
    assert thread.is_alive()  # the worker waits for DONE

    s3sync_done = coordination + handshake.DONE
    bucket, key = s3sync_done[len("s3://"):].split("/", 1)
    s3.put_object(Bucket=bucket, Key=key, Body=b"done")
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_master_gives_up_on_a_silent_worker(cluster, monkeypatch):
    s3, master, _, master_manifest, _ = cluster
    monkeypatch.setattr(run, "COLLECT_TIMEOUT", 0.2)
    coordination = run.start_ray_cluster(master_manifest, master, CK)
    with pytest.raises(run.JobFailed, match="algo-2"):
        run.finish(master_manifest, master, coordination)


def test_multi_node_without_checkpoint_uri_fails_clearly(cluster):
    _, master, worker, master_manifest, worker_manifest = cluster
    with pytest.raises(run.JobFailed, match="MODELHUB_CHECKPOINT_URI"):
        run.start_ray_cluster(master_manifest, master, None)
    with pytest.raises(run.JobFailed, match="MODELHUB_CHECKPOINT_URI"):
        run.train_easyr1(worker_manifest, worker, None, None)
