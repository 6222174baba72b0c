"""Whether a user may point at a storage location: ownership for references into ModelHub's own storage.

A user gives storage references in many places: an S3 dataset prefix, a base model's S3 weights, a
checkpoint to resume from, an endpoint's model source, a LoRA adapter. Anywhere outside ModelHub's
storage is the user's business (their credentials and bucket policies decide). Inside it, everyone's
uploads, staged data and job outputs live side by side, and ModelHub's role can read them all, so a
reference there is allowed only inside a prefix the user owns.

S3 prefixes match keys by string, not by folder: listing `s3://bucket/modelhub/d` returns every key under
`modelhub/datasets/`. So a reference *overlaps* ModelHub's space when either one is a string prefix of the
other, and then it must lie inside one of the user's own prefixes. Local paths are compared after
resolving `..` and symbolic links, folder by folder.
"""

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.conf import settings

S3 = "s3://"
FILE = "file://"
_DOT_SEGMENTS = ("/./", "/../")


def modelhub_prefixes() -> list[str]:
    """ModelHub's own storage space, from settings: the S3 bucket/prefix and the local store."""
    spaces = [Path(settings.STORAGE_DIR).resolve().as_uri() + "/"]
    if settings.S3_BUCKET:
        prefix = settings.S3_PREFIX.strip("/")
        spaces.append(f"{S3}{settings.S3_BUCKET}/" + (f"{prefix}/" if prefix else ""))
    return spaces


def _normal(uri: str) -> str | None:
    """`uri` as compared here (s3://bucket/key or file:///resolved/path[/]), or None when it is not storage."""
    uri = uri.strip()
    if uri.startswith(S3):
        bucket, _, key = uri[len(S3):].partition("/")
        return f"{S3}{bucket.lower()}/{key}"
    if uri.startswith(FILE):
        path = unquote(urlparse(uri).path)
    elif uri.startswith("/"):
        path = uri
    else:
        return None  # a Hugging Face repo id, a built-in dataset name: not a storage location
    folder = path.endswith("/")
    resolved = Path(path).resolve().as_uri()
    return resolved + ("/" if folder or resolved.endswith("/") else "")


def _inside(uri: str, prefix: str) -> bool:
    if uri.startswith(FILE):  # folders, not strings: /storage/a does not hold /storage/ab
        return uri == prefix or uri.startswith(prefix if prefix.endswith("/") else prefix + "/")
    return uri.startswith(prefix)


def _overlaps(uri: str, space: str) -> bool:
    if uri.startswith(FILE):
        return _inside(uri, space) or _inside(space, uri) or uri.rstrip("/") == space.rstrip("/")
    return uri.startswith(space) or space.startswith(uri)


def check_reference(uri: str, user, owned_prefixes: Iterable[str], *, spaces: Iterable[str] | None = None) -> str | None:
    """A message saying why `user` may not use `uri`, or None when they may.

    `owned_prefixes` are the user's own folders inside ModelHub's storage (their datasets' folders, their
    jobs' output prefixes). Admins may reference anything. `spaces` defaults to `modelhub_prefixes()`.
    """
    normal = _normal(uri)
    if normal is None:
        return None
    spaces = [_normal(s) for s in (spaces if spaces is not None else modelhub_prefixes())]
    overlapping = [s for s in spaces if s and _overlaps(normal, s)]
    if not overlapping:
        return None
    if user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_admin", False):
        return None
    raw_key = uri.strip()[len(S3):].partition("/")[2] if normal.startswith(S3) else ""
    if any(segment in f"/{raw_key}/" for segment in _DOT_SEGMENTS):
        return "That location uses '.' or '..' segments inside ModelHub's storage; give the plain prefix."
    owned = [_normal(p) for p in owned_prefixes]
    if any(p and _inside(normal, p if p.endswith("/") else p + "/") for p in owned):
        return None
    return ("That location is inside ModelHub's own storage, where other users' data is kept; "
            "point at your own bucket or at one of your own datasets or jobs.")
