"""Unpacking an uploaded dataset archive (zip, tar.gz) safely, on a worker.

An archive is untrusted: its member names may point outside the folder it is unpacked into (absolute
paths, `..`, links), it may hold more entries than anyone needs, and it may declare small sizes and
inflate far beyond them (a zip bomb). `unpack` refuses all of these with `FileRejected("archive", ...)`
before or while writing: names and links are checked before anything is written, the declared sizes
are summed up front, and the bytes actually written are counted as they stream (in chunks, never a
whole member in memory), so an archive that lies about its sizes is stopped at the limit too.
"""

import posixpath
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings

from .readers import FileRejected

ARCHIVE_SUFFIXES = {".zip": "zip", ".tar.gz": "tar.gz", ".tgz": "tar.gz"}
_MAGIC = {"zip": b"PK\x03\x04", "tar.gz": b"\x1f\x8b"}
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int
    max_unpacked_bytes: int

    @classmethod
    def from_settings(cls) -> "ArchiveLimits":
        return cls(max_entries=settings.DATASET_MAX_ARCHIVE_ENTRIES,
                   max_unpacked_bytes=settings.DATASET_MAX_UNPACKED_MB * 1024**2)


def archive_type_for(name: str) -> str | None:
    """"zip" or "tar.gz" when `name` is an archive ModelHub unpacks, else None."""
    lower = name.lower()
    return next((kind for suffix, kind in ARCHIVE_SUFFIXES.items() if lower.endswith(suffix)), None)


def check_magic(path: Path, kind: str) -> None:
    """The cheap check the web request may make: the file starts like the archive its name says."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not head:
        raise FileRejected("empty", "The file is empty.")
    if not head.startswith(_MAGIC[kind]):
        raise FileRejected("file_type", f"The file has a .{kind} name but is not a {kind} archive.")


def _refuse(message: str):
    raise FileRejected("archive", message)


def safe_member_path(name: str) -> str:
    """The member's path relative to the archive's folder; refuses absolute paths and `..`."""
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\x00" in name:
        _refuse(f"The archive entry “{name[:200]}” has an absolute or Windows path; entries must stay inside "
                "the archive's folder.")
    normal = posixpath.normpath(name)
    if normal == ".." or normal.startswith("../") or normal.startswith("/"):
        _refuse(f"The archive entry “{name[:200]}” points outside the archive's folder.")
    return normal


@dataclass(frozen=True)
class _Member:
    path: str
    size: int
    is_dir: bool
    open: object  # () -> binary stream


def _zip_members(path: Path, limits: ArchiveLimits) -> Iterator[_Member]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        _refuse(f"The zip archive cannot be read: {exc}.")
    with archive:
        infos = archive.infolist()
        _check_count(len(infos), limits)
        declared = 0
        members = []
        for info in infos:
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                _refuse(f"The archive entry “{info.filename[:200]}” is a symbolic link; links are not accepted.")
            member_path = safe_member_path(info.filename)
            declared += info.file_size
            members.append((info, member_path))
        _check_total(declared, limits, declared=True)
        for info, member_path in members:
            yield _Member(member_path, info.file_size, info.is_dir(), lambda info=info: archive.open(info))


def _tar_members(path: Path, limits: ArchiveLimits) -> Iterator[_Member]:
    try:
        archive = tarfile.open(path, "r|gz")  # a stream: members are read in order, never all listed at once
    except (tarfile.TarError, OSError) as exc:
        _refuse(f"The tar.gz archive cannot be read: {exc}.")
    with archive:
        count, declared = 0, 0
        try:
            for info in archive:
                count += 1
                _check_count(count, limits)
                if info.issym() or info.islnk():
                    _refuse(f"The archive entry “{info.name[:200]}” is a link; links are not accepted.")
                if not (info.isfile() or info.isdir()):
                    _refuse(f"The archive entry “{info.name[:200]}” is not a file or folder.")
                member_path = safe_member_path(info.name)
                declared += info.size
                _check_total(declared, limits, declared=True)
                yield _Member(member_path, info.size, info.isdir(), lambda info=info: archive.extractfile(info))
        except (tarfile.TarError, EOFError, OSError) as exc:
            _refuse(f"The tar.gz archive cannot be read: {exc}.")


def _check_count(count: int, limits: ArchiveLimits) -> None:
    if count > limits.max_entries:
        _refuse(f"The archive has more than {limits.max_entries:,} entries; the limit is {limits.max_entries:,}.")


def _check_total(total: int, limits: ArchiveLimits, *, declared: bool) -> None:
    if total > limits.max_unpacked_bytes:
        what = "declares" if declared else "unpacks to"
        _refuse(f"The archive {what} more than {limits.max_unpacked_bytes / 1024**2:,.0f} MB once unpacked; "
                f"the limit is {limits.max_unpacked_bytes / 1024**2:,.0f} MB.")


def _copy_counted(source: IO[bytes], target: IO[bytes], member: _Member, written: int, limits: ArchiveLimits) -> int:
    """Stream one member, stopping as soon as it passes its declared size or the total passes the limit."""
    own = 0
    while chunk := source.read(_CHUNK):
        own += len(chunk)
        written += len(chunk)
        if own > member.size:
            _refuse(f"The archive entry “{member.path[:200]}” unpacks to more than the size it declares.")
        _check_total(written, limits, declared=False)
        target.write(chunk)
    return written


def unpack(path: Path, kind: str, into: Path, limits: ArchiveLimits | None = None) -> list[str]:
    """Unpack the archive at `path` into the empty folder `into`; returns the files' relative paths.

    Raises FileRejected("archive", ...) for anything unsafe; the caller removes `into` either way.
    """
    limits = limits or ArchiveLimits.from_settings()
    members = _zip_members(path, limits) if kind == "zip" else _tar_members(path, limits)
    root = into.resolve()
    files, written = [], 0
    for member in members:
        target = (root / member.path).resolve()
        if target != root and root not in target.parents:
            _refuse(f"The archive entry “{member.path[:200]}” points outside the archive's folder.")
        if member.is_dir:
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            out = open(target, "xb")
        except (FileExistsError, IsADirectoryError):
            _refuse(f"The archive holds “{member.path[:200]}” more than once.")
        try:
            with out, member.open() as source:
                written = _copy_counted(source, out, member, written, limits)
        except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError) as exc:
            _refuse(f"The archive entry “{member.path[:200]}” cannot be unpacked: {exc}.")
        files.append(member.path)
    if not files:
        raise FileRejected("empty", "The archive holds no files.")
    return files
