"""Listing, linking and streaming a job's files: local folders for real, S3 against moto."""

import os
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from apps.backends import aws
from apps.backends.base import Capability, supports
from apps.backends.errors import RemoteNotFound, RemoteValidationError
from apps.backends.storage_listing import StoredOutputs, checked_key, list_outputs, open_output, output_link


@pytest.fixture
def job_root(tmp_path):
    root = tmp_path / "jobs" / "mhjob-a"
    for name, size in {"merged/model.safetensors": 300, "merged/config.json": 20, "checkpoints/trainer_log.jsonl": 7,
                       "config/train.yaml": 50}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
    (root / "empty-dir").mkdir()
    return root


def test_local_listing_has_every_file_by_key_with_sizes(job_root):
    listing = list_outputs(job_root.as_uri())  # without the trailing slash: still a folder
    assert listing.root == job_root.as_uri() + "/"
    assert [(f.key, f.size) for f in listing.files] == [
        ("checkpoints/trainer_log.jsonl", 7), ("config/train.yaml", 50), ("merged/config.json", 20),
        ("merged/model.safetensors", 300)]
    assert listing.total_size == 377 and not listing.truncated
    assert all(f.modified is not None for f in listing.files)
    cut = list_outputs(job_root.as_uri() + "/", limit=3)
    assert len(cut.files) == 3 and cut.truncated


def test_a_missing_folder_lists_nothing(tmp_path):
    assert list_outputs((tmp_path / "never-made").as_uri() + "/").files == ()


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../mhjob-b/merged/x", "merged/../../x", "merged//x", "./x",
                                 "merged\\x", "a\0b"])
def test_keys_that_could_leave_the_root_are_refused(key):
    with pytest.raises(RemoteValidationError):
        checked_key(key)


def test_local_files_are_streamed_and_never_from_outside_the_root(job_root, tmp_path):
    stream, size = open_output(job_root.as_uri() + "/", "merged/config.json")
    with stream:
        assert (stream.read(), size) == (b"x" * 20, 20)
    assert output_link(job_root.as_uri() + "/", "merged/config.json") is None  # no URL: the app streams it
    (tmp_path / "secret.txt").write_text("no")
    os.symlink(tmp_path / "secret.txt", job_root / "merged" / "link.txt")
    with pytest.raises(RemoteNotFound):
        open_output(job_root.as_uri() + "/", "merged/link.txt")  # a link pointing out of the root
    with pytest.raises(RemoteNotFound):
        open_output(job_root.as_uri() + "/", "merged")  # a folder is not a file
    with pytest.raises(RemoteValidationError):
        open_output(job_root.as_uri() + "/", "../secret.txt")


@pytest.fixture
def s3(monkeypatch, settings):
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    settings.AWS_REGION = "us-east-1"
    aws.client.cache_clear()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="hub")
        for key, body in {"modelhub/jobs/mhjob-a/merged/model.safetensors": b"w" * 64,
                          "modelhub/jobs/mhjob-a/merged/": b"",  # a console-made "folder"
                          "modelhub/jobs/mhjob-a/output/model.tar.gz": b"t" * 10,
                          "modelhub/jobs/mhjob-ab/merged/other.bin": b"o"}.items():
            s3.put_object(Bucket="hub", Key=key, Body=body)
        yield s3
    aws.client.cache_clear()


def test_s3_listing_is_the_jobs_own_prefix_only(s3):
    listing = list_outputs("s3://hub/modelhub/jobs/mhjob-a/")
    assert [(f.key, f.size) for f in listing.files] == [("merged/model.safetensors", 64), ("output/model.tar.gz", 10)]
    assert list_outputs("s3://hub/modelhub/jobs/mhjob-a/", limit=1).truncated


def test_s3_link_is_a_presigned_attachment_download_of_that_key(s3):
    import requests

    link = output_link("s3://hub/modelhub/jobs/mhjob-a/", "merged/model.safetensors")
    url = urlparse(link)
    query = parse_qs(url.query)
    assert url.path.endswith("/modelhub/jobs/mhjob-a/merged/model.safetensors") or (
        url.netloc.startswith("hub.") and url.path == "/modelhub/jobs/mhjob-a/merged/model.safetensors")
    assert query["response-content-disposition"] == ['attachment; filename="model.safetensors"']
    assert query["X-Amz-Expires"] == ["3600"] and "X-Amz-Signature" in query
    response = requests.get(link, timeout=10)  # moto answers the presigned URL like S3 would
    assert response.status_code == 200 and response.content == b"w" * 64


def test_s3_stream_and_missing_key(s3):
    stream, size = open_output("s3://hub/modelhub/jobs/mhjob-a/", "output/model.tar.gz")
    assert (stream.read(), size) == (b"t" * 10, 10)
    with pytest.raises(RemoteNotFound):
        open_output("s3://hub/modelhub/jobs/mhjob-a/", "output/nothing")


def test_mixin_declares_outputs():
    class Training(StoredOutputs):
        capabilities = frozenset({Capability.LOGS}) | StoredOutputs.capabilities

    assert supports(Training(), Capability.OUTPUTS)
