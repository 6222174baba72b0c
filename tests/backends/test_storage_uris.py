"""The one S3 URI parser (apps/backends/storage.split_s3) every app uses."""

import pytest

from apps.backends import storage


@pytest.mark.parametrize("uri, parts", [
    ("s3://bucket/key/prefix/", ("bucket", "key/prefix/")),
    ("s3://bucket/", ("bucket", "")),
    ("s3://bucket", ("bucket", "")),
])
def test_split_s3(uri, parts):
    assert storage.split_s3(uri) == parts


@pytest.mark.parametrize("uri", ["output/trainer_log.jsonl", "", "https://bucket/key", "s3:///key", "file:///tmp/x"])
def test_anything_else_is_a_storage_error_naming_the_uri(uri):
    with pytest.raises(storage.StorageError, match="S3 URI|No bucket"):
        storage.split_s3(uri)
