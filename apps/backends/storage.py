"""Files ModelHub keeps: the local store (STORAGE_DIR) and S3 (S3_BUCKET / S3_PREFIX).

Locations are URIs, `file:///abs/path` or `s3://bucket/key`. Everything is streamed (copies in
chunks, S3 multipart uploads), never read whole into memory. Deletion only ever touches what lies
under ModelHub's own roots, so a user's registered S3 prefix can never be removed by mistake.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.conf import settings

from .aws import aws_errors, client

S3_SCHEME = "s3://"
FILE_SCHEME = "file://"


class StorageError(Exception):
    pass


def local_root() -> Path:
    return Path(settings.STORAGE_DIR)


def local_uri(*parts: str, folder: bool = False) -> str:
    path = local_root().joinpath(*parts)
    return path.as_uri() + ("/" if folder else "")


def s3_uri(*parts: str, folder: bool = False) -> str:
    if not settings.S3_BUCKET:
        raise StorageError("S3_BUCKET is not set: staging to S3 needs a bucket.")
    prefix = settings.S3_PREFIX.strip("/")
    key = "/".join(p.strip("/") for p in ([prefix] if prefix else []) + list(parts))
    return f"{S3_SCHEME}{settings.S3_BUCKET}/{key}" + ("/" if folder else "")


def split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith(S3_SCHEME):
        raise StorageError(f"Not an S3 URI: {uri!r}")
    bucket, _, key = uri[len(S3_SCHEME):].partition("/")
    if not bucket:
        raise StorageError(f"No bucket in {uri!r}")
    return bucket, key


def local_path(uri: str) -> Path:
    if not uri.startswith(FILE_SCHEME):
        raise StorageError(f"Not a local URI: {uri!r}")
    return Path(unquote(urlparse(uri).path))


def join(prefix_uri: str, name: str) -> str:
    return prefix_uri.rstrip("/") + "/" + name


def _is_managed(uri: str) -> bool:
    """Whether `uri` lies under one of ModelHub's own roots (the only places it may delete)."""
    if uri.startswith(FILE_SCHEME):
        path = local_path(uri).resolve()
        root = local_root().resolve()
        return path != root and root in path.parents
    if uri.startswith(S3_SCHEME) and settings.S3_BUCKET:
        bucket, key = split_s3(uri)
        prefix = settings.S3_PREFIX.strip("/")
        return bucket == settings.S3_BUCKET and bool(key.strip("/")) and (
            not prefix or key.startswith(prefix + "/") and len(key.strip("/")) > len(prefix)
        )
    return False


def put_file(src: Path | str, uri: str) -> int:
    """Copy a local file to `uri`; returns its size."""
    size = os.path.getsize(src)
    if uri.startswith(FILE_SCHEME):
        dst = local_path(uri)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    else:
        bucket, key = split_s3(uri)
        with aws_errors():
            client("s3").upload_file(str(src), bucket, key)  # multipart above 8 MB, streamed from disk
    return size


def move_file(src: Path | str, uri: str) -> int:
    """Like put_file, but a local destination takes the file over (a rename when on the same disk)."""
    if uri.startswith(FILE_SCHEME):
        size = os.path.getsize(src)
        dst = local_path(uri)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(src), dst)
        return size
    size = put_file(src, uri)
    os.unlink(src)
    return size


def put_bytes(data: bytes, uri: str) -> None:
    if uri.startswith(FILE_SCHEME):
        dst = local_path(uri)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)
    else:
        bucket, key = split_s3(uri)
        with aws_errors():
            client("s3").put_object(Bucket=bucket, Key=key, Body=data)


def copy(src_uri: str, dst_uri: str) -> None:
    """Copy one object between any two locations (server-side within S3)."""
    if src_uri.startswith(S3_SCHEME) and dst_uri.startswith(S3_SCHEME):
        src_bucket, src_key = split_s3(src_uri)
        dst_bucket, dst_key = split_s3(dst_uri)
        with aws_errors():
            client("s3").copy({"Bucket": src_bucket, "Key": src_key}, dst_bucket, dst_key)
        return
    with local_copy(src_uri) as path:
        put_file(path, dst_uri)


@contextmanager
def local_copy(uri: str) -> Iterator[Path]:
    """A local path holding the object at `uri` (the file itself when it is local)."""
    if uri.startswith(FILE_SCHEME):
        yield local_path(uri)
        return
    bucket, key = split_s3(uri)
    with tempfile.TemporaryDirectory(prefix="modelhub-") as tmp:
        path = Path(tmp) / (key.rsplit("/", 1)[-1] or "object")
        with aws_errors():
            client("s3").download_file(bucket, key, str(path))
        yield path


def list_files(prefix_uri: str) -> list[tuple[str, int]]:
    """(uri, size) of every file under a folder URI."""
    if prefix_uri.startswith(FILE_SCHEME):
        root = local_path(prefix_uri)
        if not root.exists():
            return []
        if root.is_file():
            return [(root.as_uri(), root.stat().st_size)]
        return sorted((p.as_uri(), p.stat().st_size) for p in root.rglob("*") if p.is_file())
    bucket, key = split_s3(prefix_uri)
    found = []
    with aws_errors():
        for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            for obj in page.get("Contents", []):
                if not obj["Key"].endswith("/"):
                    found.append((f"{S3_SCHEME}{bucket}/{obj['Key']}", obj["Size"]))
    return found


def delete_prefix(prefix_uri: str) -> int:
    """Remove everything under a folder URI that ModelHub owns; returns the number of files removed."""
    if not prefix_uri.endswith("/"):
        raise StorageError(f"Refusing to delete {prefix_uri!r}: a folder URI must end with '/'.")
    if not _is_managed(prefix_uri):
        raise StorageError(f"Refusing to delete {prefix_uri!r}: it is outside ModelHub's storage.")
    if prefix_uri.startswith(FILE_SCHEME):
        root = local_path(prefix_uri)
        if not root.exists():
            return 0
        count = sum(1 for p in root.rglob("*") if p.is_file())
        shutil.rmtree(root)
        return count
    bucket, key = split_s3(prefix_uri)
    removed = 0
    s3 = client("s3")
    with aws_errors():
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
                removed += len(keys)
    return removed
