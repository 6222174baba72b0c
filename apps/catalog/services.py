"""Creating and validating datasets: one code path for the HTML pages, the API and the task.

Input that cannot be a dataset at all (unsupported type, empty, not UTF-8, unknown format, too
large) raises `DatasetInputError` before anything is stored, so nothing is left behind. A file
whose format is recognised is stored and validated row by row; its report says which rows are
wrong and why.
"""

import logging
import time
from contextlib import ExitStack

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from apps.backends import storage
from apps.backends.errors import BackendError, RemoteNotFound, TransientError
from apps.core.storage_refs import check_reference
from apps.core.dispatch import send_on_commit

from . import archives, multimodal, staging
from .formats import job_types_for
from .images import MediaCheck, StoredMediaCheck
from .inspection import inspect_files, precheck
from .models import Dataset
from .readers import FileRejected, file_type_for
from .rows import Layout
from .tokens import counter_for
from .uploads import max_upload_bytes, safe_file_name, temporary_path, too_large_message

logger = logging.getLogger(__name__)


class DatasetInputError(Exception):
    """Bad input for a dataset; `field` names the form/API field it belongs to."""

    def __init__(self, field: str, message: str, code: str = "invalid"):
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


def _store() -> str:
    return "s3" if settings.DATASET_STORE == "s3" else "local"


def create_from_upload(*, owner, name: str, uploaded_file, description: str = "", base_model=None,
                       cutoff_len: int = 2048, val_fraction: float = 0.0) -> Dataset:
    """Store an uploaded file as a new dataset and send its validation to the io queue.

    A data file is prechecked here (type, encoding, format); an archive (zip, tar.gz: the data file and its
    images) only by its name and first bytes, as unpacking it is the worker's job.
    """
    if uploaded_file.size > max_upload_bytes():
        raise DatasetInputError("file", too_large_message(uploaded_file.size), "too_large")
    archive_type = archives.archive_type_for(uploaded_file.name)
    try:
        file_type = archive_type or file_type_for(uploaded_file.name)
    except FileRejected as exc:
        raise DatasetInputError("file", exc.message, exc.code) from None
    with temporary_path(uploaded_file) as path:
        try:
            if archive_type:
                archives.check_magic(path, archive_type)
                layout, detected = None, "an archive to unpack"
            else:
                layout = precheck(path, file_type)
                detected = layout.format
        except FileRejected as exc:
            raise DatasetInputError("file", exc.message, exc.code) from None
        dataset = Dataset(
            owner=owner, name=name, description=description, source=Dataset.Source.UPLOAD,
            status=Dataset.Status.VALIDATING, format=layout.format if layout else "",
            layout=layout.as_json() if layout else {}, job_types=job_types_for(layout.format) if layout else [],
            base_model=base_model, cutoff_len=cutoff_len, val_fraction=val_fraction,
            file_name=uploaded_file.name[:255], file_type=file_type, size_bytes=uploaded_file.size,
        )
        # No transaction around the copy: a long upload to S3 must not hold the database's write lock.
        dataset.save()
        folder = staging.upload_folder(dataset, _store()) + (multimodal.ARCHIVE_DIR if archive_type else "")
        uri = storage.join(folder, safe_file_name(uploaded_file.name))
        try:
            storage.move_file(path, uri)
        except BaseException:
            _remove_quietly(dataset, uri)
            dataset.delete()
            raise
        dataset.storage_uri = uri
        Dataset.objects.filter(pk=dataset.pk).update(storage_uri=uri)
        dataset.record_event(f"Uploaded {uploaded_file.name} ({uploaded_file.size} bytes); detected {detected}.")
    _dispatch_validation(dataset)
    dataset.refresh_from_db()  # as it stands now: a quick worker (or an eager task) may have validated it already
    return dataset


def _remove_quietly(dataset, uri: str) -> None:
    try:
        storage.delete_prefix(uri.rsplit("/upload/", 1)[0] + "/")
    except Exception:  # the original error matters more
        logger.exception("Could not clean up %s", uri)


def _dispatch_validation(dataset: Dataset) -> None:
    """Validation always runs on a worker (the io queue), never in the web process: however small the
    upload, its rows may decompress (Parquet) or nest (JSON) into far more than the request should hold.
    A broker that refuses the message leaves the dataset validating for catalog.redispatch_validations."""
    send_on_commit("catalog.validate_dataset", dataset.pk)


def register(*, owner, name: str, source: str, source_uri: str, fmt: str = "", description: str = "",
             base_model=None, cutoff_len: int = 2048, val_fraction: float = 0.0) -> Dataset:
    """Register an S3 prefix (validated by a task), a Hugging Face dataset or a built-in by name."""
    from .curation import builtin_datasets

    fields = dict(owner=owner, name=name, description=description, source=source, source_uri=source_uri,
                  base_model=base_model, cutoff_len=cutoff_len, val_fraction=val_fraction)
    if source == Dataset.Source.BUILTIN:
        known = {d["name"]: d for d in builtin_datasets()}
        if source_uri not in known:
            raise DatasetInputError("source_uri", f"“{source_uri}” is not a built-in dataset.")
        fmt = known[source_uri]["format"]
        dataset = Dataset.objects.create(
            **fields, format=fmt, job_types=job_types_for(fmt), status=Dataset.Status.READY,
            status_reason="Built into LLaMA-Factory / EasyR1.",
        )
    elif source == Dataset.Source.HF:
        if not fmt:
            raise DatasetInputError("format", "Choose the format: Hugging Face datasets are not read by ModelHub.")
        dataset = Dataset.objects.create(
            **fields, format=fmt, job_types=job_types_for(fmt), layout=default_layout(fmt).as_json(),
            status=Dataset.Status.READY,
            status_reason="Not validated here: the training container reads Hugging Face datasets.",
        )
    elif source == Dataset.Source.S3:
        if not source_uri.startswith("s3://") or not storage.split_s3(source_uri)[1]:
            raise DatasetInputError("source_uri", "Enter an S3 prefix such as s3://my-bucket/data/.")
        if problem := check_reference(source_uri, owner, owned_prefixes=_own_dataset_folders(owner)):
            raise DatasetInputError("source_uri", problem)
        with transaction.atomic():
            dataset = Dataset.objects.create(**fields, status=Dataset.Status.VALIDATING)
            _dispatch_validation(dataset)
    else:
        raise DatasetInputError("source", f"Unknown source “{source}”.")
    return dataset


def _own_dataset_folders(owner) -> list[str]:
    """The folders of `owner`'s datasets in ModelHub's S3 storage (where registering again is harmless)."""
    if not settings.S3_BUCKET:
        return []
    return [staging.folder_uri(d, "s3") for d in Dataset.objects.filter(owner=owner).only("pk", "name")]


def default_layout(fmt: str) -> Layout:
    """The layout assumed for data ModelHub cannot read (Hugging Face): each format's usual column names."""
    from .rows import detect

    samples = {
        "alpaca": {"instruction": "", "input": "", "output": ""},
        "sharegpt": {"conversations": [{"from": "human", "value": ""}]},
        "openai": {"messages": [{"role": "user", "content": ""}]},
        "preference": {"conversations": [{"from": "human", "value": ""}], "chosen": {}, "rejected": {}},
        "kto": {"messages": [{"role": "user", "content": ""}], "label": True},
        "prompt_answer": {"problem": "", "answer": ""},
        "text": {"text": ""},
    }
    return detect(samples[fmt])


def _files_of(dataset: Dataset) -> list[tuple[str, str, str]]:
    """(name, uri, file type) of the data to validate."""
    if dataset.source == Dataset.Source.UPLOAD:
        if not dataset.storage_uri:
            raise FileRejected("missing", "The upload did not finish; upload the file again.")
        return [(dataset.file_name, dataset.storage_uri, dataset.file_type)]
    found = staging.data_files(dataset.source_uri)
    if not found:
        raise FileRejected("empty", f"No .jsonl, .json, .csv or .parquet files under {dataset.source_uri}.")
    types = {file_type_for(uri) for uri, _ in found}
    if len(types) > 1:
        raise FileRejected("file_type", f"The prefix mixes file types ({', '.join(sorted(types))}); use one.")
    return [(uri.rsplit("/", 1)[-1], uri, file_type_for(uri)) for uri, _ in found]


def validate(dataset_id: int) -> None:
    """Check every row and record the report; idempotent (does nothing unless the dataset is validating)."""
    try:
        _validate(dataset_id)
    except Dataset.DoesNotExist:
        logger.info("Dataset %s was deleted while it was being validated.", dataset_id)


def _heartbeat(dataset_id: int):
    """A function renewing the dataset's status time while it validates (at most every tenth of the stale
    window), so the sweep can tell a running validation from one whose worker died."""
    every = settings.DATASET_VALIDATION_STALE_SECONDS / 10
    last = 0.0

    def beat() -> None:
        nonlocal last
        if time.monotonic() - last >= every:
            last = time.monotonic()
            Dataset.objects.filter(pk=dataset_id, status=Dataset.Status.VALIDATING).update(
                status_changed_at=timezone.now())

    return beat


def _validate(dataset_id: int) -> None:
    dataset = Dataset.objects.filter(pk=dataset_id, status=Dataset.Status.VALIDATING).first()
    if dataset is None:
        return
    heartbeat = _heartbeat(dataset_id)
    heartbeat()
    try:
        if multimodal.is_archive(dataset):
            result, stored = multimodal.inspect_archive(dataset, counter=counter_for(dataset.base_model),
                                                        heartbeat=heartbeat)
        else:
            with ExitStack() as stack:
                files = [(name, stack.enter_context(storage.local_copy(uri)), ftype)
                         for name, uri, ftype in _files_of(dataset)]
                stored = {"size_bytes": sum(path.stat().st_size for _, path, _ in files)}
                layout = Layout.from_json(dataset.format, dataset.layout) if dataset.layout else None
                result = inspect_files(files, counter=counter_for(dataset.base_model),
                                       cutoff_len=dataset.cutoff_len, layout=layout, heartbeat=heartbeat,
                                       row_check=_media_check(dataset).problems)
    except FileRejected as exc:
        _fail(dataset, exc.message, {"code": exc.code, "message": exc.message})
        return
    except TransientError:
        raise
    except (FileNotFoundError, RemoteNotFound, storage.StorageError) as exc:
        if not Dataset.objects.filter(pk=dataset_id).exists():
            return  # deleted while it was being read
        _fail(dataset, f"The stored data is missing: {exc}", {"code": "missing", "message": str(exc)})
        return
    except BackendError as exc:
        _fail(dataset, str(exc), {"code": "storage", "message": str(exc)})
        return
    except DatabaseError:
        raise  # the database is away: the task's retry or the stale sweep will try again
    except Exception as exc:  # noqa: BLE001 - a file no reader expected must end the validation, not loop it
        logger.exception("Validation of dataset %s failed", dataset_id)
        message = f"The data could not be read ({type(exc).__name__}); check the file and upload it again."
        _fail(dataset, message, {"code": "unreadable", "message": message})
        return
    fields = dict(
        format=result.layout.format, layout=result.layout.as_json(), job_types=result.job_types,
        row_count=result.row_count, stats=result.stats, report=result.report(), preview=result.preview, **stored,
    )
    if result.valid:
        over = result.stats["rows_over_cutoff"]
        note = f"; {over} longer than {dataset.cutoff_len} tokens" if over else ""
        if not dataset.transition(Dataset.Status.READY, f"{result.row_count} rows, all valid{note}.", **fields):
            _remove_when_gone(dataset)
        return
    first = result.errors[0]
    reason = (f"{result.error_count} of {result.row_count} rows have problems; "
              f"first: row {first['row']}: {first['problem']}.")
    _fail(dataset, reason, None, **fields)


def _media_check(dataset: Dataset) -> MediaCheck:
    """Where the images rows name must be: under a registered prefix (fetched one by one to decode), or
    nowhere for a lone uploaded data file (images come in an archive with it)."""
    if dataset.source == Dataset.Source.S3:
        return StoredMediaCheck(prefix_uri=dataset.source_uri.rstrip("/") + "/")
    return MediaCheck()


def _remove_when_gone(dataset: Dataset) -> None:
    """The dataset was deleted while it was validated: remove what the validation stored after the deletion."""
    if not Dataset.objects.filter(pk=dataset.pk).exists() and dataset.storage_uri:
        _remove_quietly(dataset, dataset.storage_uri)


def _fail(dataset: Dataset, reason: str, error: dict | None, **fields) -> None:
    """Mark invalid and drop the stored upload (the report stays, so the user can see what to fix)."""
    if error is not None:
        fields["report"] = {"error": error}
    stored = staging.managed_folders(dataset)
    if dataset.transition(Dataset.Status.INVALID, reason, storage_uri="", **fields):
        for folder in stored:
            storage.delete_prefix(folder)
