"""Datasets uploaded as an archive (the JSON / JSONL file and its images), validated on a worker.

The web request only streams the archive to `upload/archive/` (its name and first bytes checked). The
worker unpacks the stored archive into a temporary folder (`archives.unpack`, bounded), finds its one
data file, checks every row and every image the rows name (`images.MediaCheck`), and only when all is well
stores the dataset as ModelHub keeps it: `upload/data/<data>.jsonl` plus the images at their paths beside it,
and `thumbs/` with small WEBP thumbnails of the preview rows' images. The archive itself is then removed.
A refused or invalid archive leaves nothing (services._fail removes the dataset's folder).
"""

import json
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import unquote

from apps.backends import storage

from . import archives, images
from .inspection import Inspection, inspect_files
from .readers import FileRejected, iter_rows
from .tokens import TokenCounter

DATA_TYPES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
THUMBS_PER_ROW = 4
THUMBS_DIR = "thumbs/"
ARCHIVE_DIR = "archive/"  # in upload/: where the web request puts the archive as received
DATA_DIR = "upload/data/"  # the data file and its images once validated


def is_archive(dataset) -> bool:
    return dataset.source == dataset.Source.UPLOAD and dataset.file_type in archives.ARCHIVE_SUFFIXES.values()


def media_files(dataset) -> list[str]:
    """The stored images of a validated archive dataset, as paths relative to its data file's folder."""
    folder = dataset.storage_uri.rsplit("/", 1)[0] + "/"
    found = [uri[len(folder):] for uri, _ in storage.list_files(folder) if uri != dataset.storage_uri]
    return [unquote(f) for f in found] if folder.startswith(storage.FILE_SCHEME) else found


def dataset_folder(dataset) -> str:
    return dataset.storage_uri.rsplit("/upload/", 1)[0] + "/"


def thumbnail_uri(dataset, name: str) -> str:
    return storage.join(dataset_folder(dataset) + THUMBS_DIR, name)


def _data_file(files: list[str]) -> str:
    candidates = [f for f in files if Path(f).suffix.lower() in DATA_TYPES
                  and not any(part.startswith((".", "__MACOSX")) for part in Path(f).parts)]
    if not candidates:
        raise FileRejected("archive", "The archive holds no .json or .jsonl data file.")
    if len(candidates) > 1:
        listed = ", ".join(sorted(candidates)[:5])
        raise FileRejected("archive", f"The archive holds several data files ({listed}); put exactly one in it.")
    return candidates[0]


def inspect_archive(dataset, *, counter: TokenCounter, heartbeat: Callable[[], None]) -> tuple[Inspection, dict]:
    """Validate an uploaded archive; when every row is valid, store its data, images and thumbnails.

    Returns the inspection and the dataset fields that change (where the data now is, its size).
    """
    with ExitStack() as stack:
        archive = stack.enter_context(storage.local_copy(dataset.storage_uri))
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="modelhub-archive-")))
        unpacked = work / "unpacked"
        unpacked.mkdir()
        files = archives.unpack(archive, dataset.file_type, unpacked)
        heartbeat()
        data_relative = _data_file(files)
        data_path = unpacked / data_relative
        file_type = DATA_TYPES[data_path.suffix.lower()]
        check = images.MediaCheck(root=data_path.parent)
        result = inspect_files([(data_relative, data_path, file_type)], counter=counter,
                               cutoff_len=dataset.cutoff_len, heartbeat=heartbeat, row_check=check.problems)
        size = sum((unpacked / f).stat().st_size for f in files)
        if not result.valid:
            return result, {"size_bytes": size}
        stored = _store(dataset, data_path, file_type, check, result, work, heartbeat)
        return result, {"size_bytes": size, "storage_uri": stored, "file_type": "jsonl"}


def _store(dataset, data_path: Path, file_type: str, check: images.MediaCheck, result: Inspection,
           work: Path, heartbeat: Callable[[], None]) -> str:
    """Put the data (as JSON Lines), the images the rows use and the preview's thumbnails in the store."""
    upload = dataset_folder(dataset) + DATA_DIR
    normalised = work / (data_path.stem + ".jsonl")
    with open(normalised, "wb") as out:
        for _, row in iter_rows(data_path, file_type):
            out.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")
    for relative in sorted(check.used):
        storage.put_file(check.root / relative, storage.join(upload, relative))
        heartbeat()  # it acts at most every tenth of the stale window
    data_uri = storage.join(upload, normalised.name)
    storage.put_file(normalised, data_uri)
    for item in result.preview:
        item["thumbs"] = _thumbnails(dataset, item, check, result, work)
    storage.delete_prefix(dataset.storage_uri.rsplit("/", 1)[0] + "/")  # the archive, now unpacked
    return data_uri


def _thumbnails(dataset, item: dict, check: images.MediaCheck, result: Inspection, work: Path) -> list[dict]:
    thumbs = []
    for index, name in enumerate(images.image_paths(item["data"], result.layout)[:THUMBS_PER_ROW]):
        relative = images.relative_media_path(name)
        if relative not in check.used:
            continue
        thumb_name = f"row{item['row']}-{index}{images.THUMBNAIL_SUFFIX}"
        local = work / thumb_name
        images.thumbnail(check.root / relative, local)
        storage.put_file(local, thumbnail_uri(dataset, thumb_name))
        thumbs.append({"name": thumb_name, "image": relative})
    return thumbs
