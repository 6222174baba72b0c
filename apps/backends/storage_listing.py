"""A job's outputs in ModelHub's object store: list them with sizes, link or stream one for download.

Locations are the store's URIs (`s3://bucket/key/` or `file:///abs/path/`, see storage.py). S3 files
are downloaded by the browser from a presigned GET URL (the bytes never pass through ModelHub); local
files have no such URL, so the app streams them. A key is always a path *below* the listed root: keys
that could leave it (`..`, absolute paths) are refused before anything is read.

`StoredOutputs` is the mixin that gives a training backend `Capability.OUTPUTS` over its job roots.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from .aws import aws_errors, client, presigning_client
from .base import Capability, OutputListing, StoredFile
from .errors import RemoteNotFound, RemoteValidationError
from .storage import FILE_SCHEME, S3_SCHEME, local_path, split_s3

MAX_FILES = 5000  # one page of the job page; a job with more (many checkpoints) says it was cut
LINK_SECONDS = 3600  # a presigned link is valid this long


def checked_key(key: str) -> str:
    """`key` if it names something below a root, else RemoteValidationError."""
    parts = key.split("/")
    if not key or key.startswith("/") or "\\" in key or "\0" in key or any(p in ("", ".", "..") for p in parts):
        raise RemoteValidationError(f"Not a file below the job's folder: {key!r}.")
    return key


def _folder(root: str) -> str:
    return root if root.endswith("/") else root + "/"


def list_outputs(root: str, limit: int = MAX_FILES) -> OutputListing:
    """Every file under `root` (by key), at most `limit`."""
    root = _folder(root)
    files: list[StoredFile] = []
    truncated = False
    if root.startswith(FILE_SCHEME):
        base = local_path(root)
        paths = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []
        truncated = len(paths) > limit
        for path in paths[:limit]:
            stat = path.stat()
            files.append(StoredFile(path.relative_to(base).as_posix(), stat.st_size,
                                    datetime.fromtimestamp(stat.st_mtime, tz=UTC)))
        return OutputListing(root, tuple(files), truncated)
    bucket, prefix = split_s3(root)
    with aws_errors():
        for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith("/"):
                    continue  # a "folder" placeholder
                if len(files) == limit:
                    return OutputListing(root, tuple(files), True)
                files.append(StoredFile(obj["Key"][len(prefix):], obj["Size"], obj.get("LastModified")))
    return OutputListing(root, tuple(files), truncated)


def output_link(root: str, key: str, expires: int = LINK_SECONDS) -> str | None:
    """A presigned GET URL that downloads `key` as an attachment, or None for a local file."""
    key = checked_key(key)
    root = _folder(root)
    if not root.startswith(S3_SCHEME):
        return None
    bucket, prefix = split_s3(root)
    filename = key.rsplit("/", 1)[-1].replace('"', "")
    with aws_errors():
        return presigning_client("s3").generate_presigned_url(
            "get_object", ExpiresIn=expires,
            Params={"Bucket": bucket, "Key": prefix + key, "ResponseContentDisposition": f'attachment; filename="{filename}"'},
        )


def _local_file(root: str, key: str) -> Path:
    base = local_path(root).resolve()
    path = (base / key).resolve()
    if base not in path.parents or not path.is_file():
        raise RemoteNotFound(f"No file {key!r} in this job's outputs.")
    return path


def open_output(root: str, key: str) -> tuple[BinaryIO, int]:
    """(binary stream, size) of `key` under `root`; the caller closes the stream."""
    key = checked_key(key)
    root = _folder(root)
    if root.startswith(FILE_SCHEME):
        path = _local_file(root, key)
        return path.open("rb"), path.stat().st_size
    bucket, prefix = split_s3(root)
    with aws_errors():
        response = client("s3").get_object(Bucket=bucket, Key=prefix + key)
    return response["Body"], response.get("ContentLength", 0)


class StoredOutputs:
    """Mixin: `Capability.OUTPUTS` for a backend whose job roots are in ModelHub's object store."""

    capabilities = frozenset({Capability.OUTPUTS})  # for the backend's own set: `... | StoredOutputs.capabilities`

    def list_outputs(self, root: str) -> OutputListing:
        return list_outputs(root)

    def output_link(self, root: str, key: str) -> str | None:
        return output_link(root, key)

    def open_output(self, root: str, key: str) -> tuple[BinaryIO, int]:
        return open_output(root, key)
