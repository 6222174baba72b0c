"""Images of multimodal rows: each one a row names must exist beside the data and decode; thumbnails.

Rows name their images in the `images` column (LLaMA-Factory's multimodal layout) by paths relative to
the folder holding the data file, and mark where each goes with one `<image>` placeholder in the text.
`MediaCheck` answers the problems of one row, decoding each distinct image once (Pillow `verify()`, then
`load()`), and refuses an image whose declared width × height is over the pixel limit before a pixel is
decoded (a decompression bomb). It keeps the set of files the rows use, so only those are stored.
"""

import posixpath
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from . import rows as row_rules
from .rows import Layout

IMAGE_PLACEHOLDER = "<image>"
THUMBNAIL_SIZE = (160, 160)
THUMBNAIL_FORMAT = "WEBP"
THUMBNAIL_SUFFIX = ".webp"
MISSING = "is missing from the dataset's files"


def max_pixels() -> int:
    return settings.DATASET_MAX_IMAGE_PIXELS


def image_problem(path: Path, pixel_limit: int) -> str | None:
    """Why the file at `path` is not a usable image, or None."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > pixel_limit:
                    return f"has more pixels than the limit of {pixel_limit:,} ({width}×{height})"
                image.verify()
            with Image.open(path) as image:  # verify() leaves the image unusable: open again to decode it
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return f"has more pixels than the limit of {pixel_limit:,}"
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds (OSError, SyntaxError, ValueError, ...)
        return f"does not decode as an image ({type(exc).__name__})"
    return None


def relative_media_path(value: str) -> str | None:
    """The normalised path of a media reference inside the data's folder, or None when it leaves it."""
    if not value or "\\" in value or value.startswith("/") or "://" in value or (len(value) > 1 and value[1] == ":"):
        return None
    normal = posixpath.normpath(value)
    if normal in (".", "..") or normal.startswith("../"):
        return None
    return normal


def image_paths(row, layout: Layout) -> list[str]:
    column = layout.columns.get("images")
    value = row.get(column) if column and isinstance(row, dict) else None
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _placeholders(row: dict, layout: Layout) -> int:
    return sum(m["content"].count(IMAGE_PLACEHOLDER) for m in row_rules.to_messages(row, layout))


@dataclass
class MediaCheck:
    """Checks the images rows name against the folder `root` that holds the data file (None: an uploaded data
    file on its own, where every image a row names is missing)."""

    root: Path | None = None
    pixel_limit: int = field(default_factory=max_pixels)
    used: set[str] = field(default_factory=set)
    _verdicts: dict[str, str | None] = field(default_factory=dict)

    def problems(self, row, layout: Layout) -> list[str]:
        names = image_paths(row, layout)
        if not names:
            return []
        found = []
        for name in names:
            if (problem := self._problem(name)) is not None:
                found.append(f"image '{name[:200]}' {problem}")
        placeholders = _placeholders(row, layout)
        if placeholders != len(names):
            found.append(f"the row names {len(names)} image(s) but its text has {placeholders} "
                         f"'{IMAGE_PLACEHOLDER}' placeholder(s); LLaMA-Factory needs one per image")
        return found

    def _problem(self, name: str) -> str | None:
        relative = relative_media_path(name)
        if relative is None:
            return "is not a path inside the dataset's folder"
        if relative not in self._verdicts:
            with self._local(relative) as path:
                verdict = MISSING if path is None else image_problem(path, self.pixel_limit)
            self._verdicts[relative] = verdict
            if verdict is None:
                self.used.add(relative)
        return self._verdicts[relative]

    @contextmanager
    def _local(self, relative: str) -> Iterator[Path | None]:
        path = self.root / relative if self.root is not None else None  # no root: a lone data file, no images
        yield path if path is not None and path.is_file() and not path.is_symlink() else None


@dataclass
class StoredMediaCheck(MediaCheck):
    """The same checks for images kept in storage (a registered S3 prefix): each is fetched once to decode it."""

    prefix_uri: str = ""
    _files: dict[str, str] | None = None

    @contextmanager
    def _local(self, relative: str) -> Iterator[Path | None]:
        from apps.backends import storage

        if self._files is None:  # listed once, when the first row names an image
            self._files = {uri[len(self.prefix_uri):]: uri for uri, _ in storage.list_files(self.prefix_uri)}
        uri = self._files.get(relative)
        if uri is None:
            yield None
            return
        with storage.local_copy(uri) as path:
            yield path


def thumbnail(path: Path, target: Path) -> None:
    """A small WEBP of the image at `path` (already checked by MediaCheck), written to `target`."""
    from PIL import Image

    with Image.open(path) as image:
        image.draft("RGB", THUMBNAIL_SIZE)  # JPEG: decode at a reduced scale
        image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
        image.thumbnail(THUMBNAIL_SIZE)
        image.save(target, THUMBNAIL_FORMAT, quality=80)
