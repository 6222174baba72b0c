"""Building image-dataset archives for the tests: the good corpus folder, and hostile variants of it."""

import io
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

from tests.catalog.conftest import CORPUS

IMAGES = CORPUS / "images"
GOOD = IMAGES / "good"


def good_members() -> dict[str, bytes]:
    return {str(p.relative_to(GOOD)): p.read_bytes() for p in sorted(GOOD.rglob("*")) if p.is_file()}


def make_zip(members: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)  # S_IFLNK
            archive.writestr(info, target)
    return buffer.getvalue()


def make_tar_gz(members: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


def png_header_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid-looking PNG of a few dozen bytes that declares width × height pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def rows_with(images: list[str], placeholders: int | None = None) -> bytes:
    import json

    count = len(images) if placeholders is None else placeholders
    row = {"messages": [{"role": "user", "content": "<image>" * count + "Describe."},
                        {"role": "assistant", "content": "A picture."}], "images": images}
    return (json.dumps(row) + "\n").encode()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
