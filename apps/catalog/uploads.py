"""Receiving dataset uploads: streamed to a temporary file, refused as soon as they pass the size limit."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

TOO_LARGE_ATTR = "dataset_upload_too_large"


def max_upload_bytes() -> int:
    return settings.DATASET_MAX_UPLOAD_MB * 1024 * 1024


def too_large_message(size: int | None = None) -> str:
    got = f"The file is {size / 1024 / 1024:.1f} MB; " if size else "The file is too large: "
    return f"{got}the limit is {settings.DATASET_MAX_UPLOAD_MB} MB."


class SizeLimitUploadHandler(FileUploadHandler):
    """Counts bytes as they arrive and stops the upload past DATASET_MAX_UPLOAD_MB.

    Django then closes (and so deletes) the partial temporary file and discards the rest of the
    body without keeping it; the view sees `request.dataset_upload_too_large` and answers 400.
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0
        self.limit = max_upload_bytes()

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            setattr(self.request, TOO_LARGE_ATTR, True)
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def install_size_limit(request) -> None:
    """Put the size check in front of Django's handlers; call before the body is read."""
    request.upload_handlers.insert(0, SizeLimitUploadHandler(request))


def upload_was_too_large(request) -> bool:
    return bool(getattr(request, TOO_LARGE_ATTR, False))


@contextmanager
def temporary_path(uploaded) -> Iterator[Path]:
    """A path on disk holding the uploaded file, removed afterwards unless it was moved away."""
    if hasattr(uploaded, "temporary_file_path"):
        yield Path(uploaded.temporary_file_path())
        return
    fd, name = tempfile.mkstemp(prefix="modelhub-upload-", suffix=Path(uploaded.name).suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in uploaded.chunks():
                fh.write(chunk)
        yield Path(name)
    finally:
        if os.path.exists(name):
            os.unlink(name)


def safe_file_name(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/")).strip() or "data"
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in base)[:120]


