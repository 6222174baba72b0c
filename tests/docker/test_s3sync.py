"""Folder copies between S3 (moto) and the container."""

import boto3
import pytest
from moto import mock_aws

from modelhub_train import s3sync


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="bkt")
        yield client


def keys(client, prefix=""):
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket="bkt", Prefix=prefix).get("Contents", []))


def test_download_prefix_keeps_structure(s3, tmp_path):
    for key in ("ds/staged/a.jsonl", "ds/staged/sub/b.jsonl", "ds/staged/", "ds/stagedX/no.jsonl"):
        s3.put_object(Bucket="bkt", Key=key, Body=b"x")
    assert s3sync.download_prefix("s3://bkt/ds/staged", tmp_path) == 2  # "staged" is a folder, not "stagedX"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "a.jsonl", "sub/b.jsonl"]


def test_download_single_object(s3, tmp_path):
    s3.put_object(Bucket="bkt", Key="models/reward.bin", Body=b"w")
    assert s3sync.download_prefix("s3://bkt/models/reward.bin", tmp_path) == 1
    assert (tmp_path / "reward.bin").read_bytes() == b"w"


def test_keys_cannot_escape_the_destination(tmp_path):
    assert s3sync.local_path(tmp_path, "p/", "p/../../etc/passwd") is None
    assert s3sync.local_path(tmp_path, "p/", "p/ok/file") == (tmp_path / "ok" / "file").resolve()


def test_upload_dir_excludes_and_sends_only_changes(s3, tmp_path):
    (tmp_path / "checkpoint-5").mkdir()
    (tmp_path / "checkpoint-5" / "w.bin").write_text("w")
    (tmp_path / "adapter_model.safetensors").write_text("a")
    (tmp_path / "trainer_log.jsonl").write_text("{}\n")
    assert s3sync.upload_dir(tmp_path, "s3://bkt/jobs/j/model/", exclude=["checkpoint-*"]) == 2
    assert keys(s3, "jobs/j/model/") == ["jobs/j/model/adapter_model.safetensors", "jobs/j/model/trainer_log.jsonl"]
    sent = {}
    assert s3sync.upload_dir(tmp_path, "s3://bkt/ck", skip=sent) == 3
    assert s3sync.upload_dir(tmp_path, "s3://bkt/ck", skip=sent) == 0
    with open(tmp_path / "trainer_log.jsonl", "a") as f:
        f.write('{"current_steps": 1}\n')
    assert s3sync.upload_dir(tmp_path, "s3://bkt/ck", skip=sent) == 1
    assert "ck/checkpoint-5/w.bin" in keys(s3, "ck/")


def test_put_text_and_exists(s3):
    s3sync.put_text("s3://bkt/ck/.modelhub-done", "done")
    assert s3sync.exists("s3://bkt/ck/.modelhub-done")
    assert not s3sync.exists("s3://bkt/ck/.modelhub")


def test_bad_uris():
    with pytest.raises(ValueError):
        s3sync.split_uri("/local/path")
    with pytest.raises(ValueError):
        s3sync.split_uri("s3:///key")
