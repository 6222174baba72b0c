"""Copy folders between S3 and the container with boto3 (multipart, retries from botocore)."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"Not an S3 URI: {uri!r}")
    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket:
        raise ValueError(f"No bucket in {uri!r}")
    return bucket, key


def join_uri(prefix_uri: str, relative: str) -> str:
    return prefix_uri.rstrip("/") + "/" + relative.lstrip("/")


def excluded(relative: str, patterns) -> bool:
    """True when the first path segment (or the whole path) matches one of the glob patterns."""
    first = relative.split("/", 1)[0]
    return any(fnmatch.fnmatch(first, p) or fnmatch.fnmatch(relative, p) for p in patterns)


def local_path(dest: str | Path, prefix: str, key: str) -> Path | None:
    """Where object `key` under `prefix` lands in `dest`; None for folder placeholders or keys escaping dest."""
    relative = key[len(prefix):].lstrip("/") if prefix else key
    if not relative or relative.endswith("/"):
        return None
    target = (Path(dest) / relative).resolve()
    if not str(target).startswith(str(Path(dest).resolve()) + os.sep):
        return None
    return target


def _client(client=None):
    if client is not None:
        return client
    import boto3

    return boto3.client("s3")


def download_prefix(uri: str, dest: str | Path, *, client=None) -> int:
    """Copy every object under the prefix `uri` (or the single object `uri`) into `dest`; returns files copied."""
    s3 = _client(client)
    bucket, prefix = split_uri(uri)
    folder_prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder_prefix):
        for obj in page.get("Contents", []):
            target = local_path(dest, folder_prefix, obj["Key"])
            if target is None:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(target))
            count += 1
    if count == 0 and prefix and not prefix.endswith("/"):  # a single file
        target = Path(dest) / prefix.rsplit("/", 1)[-1]
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, prefix, str(target))
        count = 1
    return count


def upload_dir(src: str | Path, uri: str, *, exclude=(), client=None, skip: dict | None = None) -> int:
    """Copy the files of `src` to the prefix `uri`, except `exclude` globs; returns files copied.

    `skip` (path -> (size, mtime)) remembers what was sent, so repeated calls send only changes."""
    s3 = _client(client)
    bucket, prefix = split_uri(uri)
    src = Path(src)
    count = 0
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        relative = path.relative_to(src).as_posix()
        if excluded(relative, exclude):
            continue
        stat = path.stat()
        signature = (stat.st_size, stat.st_mtime)
        if skip is not None and skip.get(relative) == signature:
            continue
        key = f"{prefix.rstrip('/')}/{relative}" if prefix.strip("/") else relative
        s3.upload_file(str(path), bucket, key)
        if skip is not None:
            skip[relative] = signature
        count += 1
    return count


def put_text(uri: str, text: str, *, client=None) -> None:
    bucket, key = split_uri(uri)
    _client(client).put_object(Bucket=bucket, Key=key, Body=text.encode())


def get_text(uri: str, *, client=None) -> str:
    bucket, key = split_uri(uri)
    return _client(client).get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def exists(uri: str, *, client=None) -> bool:
    bucket, key = split_uri(uri)
    response = _client(client).list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    return any(obj["Key"] == key for obj in response.get("Contents", []))
