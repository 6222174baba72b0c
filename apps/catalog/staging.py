"""Where a dataset's files live, and staging them for a training backend.

Every dataset owns one folder per store, `datasets/<remote name>/`, under STORAGE_DIR (local store)
or `s3://<S3_BUCKET>/<S3_PREFIX>/` (S3):

    upload/<file>            the uploaded file as received (DATASET_STORE decides which store keeps it)
    upload/archive/<file>    an uploaded archive (zip, tar.gz) until a worker has validated and unpacked it
    upload/data/             an archive's data (as JSON Lines) and the images its rows use, at their paths
    thumbs/                  small WEBP thumbnails of the preview rows' images
    staged/<name>.<ext>      the data as LLaMA-Factory reads it (`dataset_dir` = staged/)
    staged/dataset_info.json the one-entry dataset_info.json for it
    staged/<image paths>     the images of a multimodal dataset; the staged rows name them `<name>/<path>`
    staged/easyr1/           train.jsonl, val.jsonl and easyr1.json for the GRPO family (prompt_answer datasets)

Deleting a dataset removes these folders and nothing else (a registered S3 prefix stays untouched).
"""

import json
import tempfile
from pathlib import Path

from apps.backends import storage
from apps.core.naming import remote_name

TARGETS = ("local", "s3")


def folder_name(dataset) -> str:
    return remote_name(dataset.name, unique=str(dataset.pk), prefix="ds", lowercase=True)


def folder_uri(dataset, target: str) -> str:
    if target == "local":
        return storage.local_uri("datasets", folder_name(dataset), folder=True)
    if target == "s3":
        return storage.s3_uri("datasets", folder_name(dataset), folder=True)
    raise ValueError(f"Unknown staging target {target!r}; expected one of {TARGETS}.")


def managed_folders(dataset) -> list[str]:
    """The folders ModelHub wrote for this dataset (upload and staged copies)."""
    folders = []
    if dataset.storage_uri:
        folders.append(dataset.storage_uri.rsplit("/upload/", 1)[0] + "/")
    folders.extend(dataset.staged.values())
    unique = []
    for folder in folders:
        if folder not in unique:
            unique.append(folder)
    return unique


def remove(dataset) -> int:
    """Delete every folder ModelHub wrote for the dataset; returns how many files went."""
    return sum(storage.delete_prefix(folder) for folder in managed_folders(dataset))


DATA_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")
EASYR1_DIR = "easyr1/"
EASYR1_PROMPT_KEY = "problem"
EASYR1_ANSWER_KEY = "answer"


def upload_folder(dataset, store: str) -> str:
    return folder_uri(dataset, store) + "upload/"


def data_files(prefix_uri: str) -> list[tuple[str, int]]:
    """The data files (by extension) under a registered S3 prefix or local folder."""
    return [(uri, size) for uri, size in storage.list_files(prefix_uri) if uri.lower().endswith(DATA_SUFFIXES)]


PENDING = "{}:pending"


def _record(dataset, target: str, folder: str | None) -> None:
    """Note (folder) or forget (None) a staged folder; `dataset.staged[target]` means staging finished."""
    staged = {k: v for k, v in dataset.staged.items() if k != target}
    if folder:
        staged[target] = folder
    dataset.staged = staged
    type(dataset).objects.filter(pk=dataset.pk).update(staged=staged)


def stage(dataset, target: str) -> str | None:
    """Write the data, dataset_info.json and (for prompt/answer data) the EasyR1 layout for `target`.

    Returns the staged folder URI (LLaMA-Factory's `dataset_dir`), or None for built-ins, which the
    training container already knows by name. Safe to run again: it rewrites the same objects.
    """
    if dataset.source == dataset.Source.BUILTIN:
        return None
    if dataset.status != dataset.Status.READY:
        raise ValueError(f"Dataset {dataset.pk} is {dataset.status}, not ready: it cannot be staged.")
    folder = folder_uri(dataset, target) + "staged/"
    _record(dataset, PENDING.format(target), folder)  # first, so a crash part-way still gets cleaned up on delete
    name = dataset.llamafactory_name
    sources: list[str] = []
    if dataset.source == dataset.Source.UPLOAD and has_images(dataset):
        _stage_with_images(dataset, folder)
        file_name = dataset.data_file_name
        sources = [dataset.storage_uri]
    elif dataset.source == dataset.Source.UPLOAD:
        storage.copy(dataset.storage_uri, storage.join(folder, dataset.data_file_name))
        file_name = dataset.data_file_name
        sources = [dataset.storage_uri]
    elif dataset.source == dataset.Source.S3 and has_images(dataset):
        for uri, _ in data_files(dataset.source_uri):
            _stage_prefix_file_with_images(dataset, uri, folder)
            sources.append(uri)
        file_name = name
    elif dataset.source == dataset.Source.S3:
        for uri, _ in data_files(dataset.source_uri):
            storage.copy(uri, storage.join(folder, f"{name}/{uri.rsplit('/', 1)[-1]}"))
            sources.append(uri)
        file_name = name
    else:
        file_name = None
    info = {name: dataset.llamafactory_entry(file_name)}
    storage.put_bytes(json.dumps(info, indent=2, ensure_ascii=False).encode(), storage.join(folder, "dataset_info.json"))
    if dataset.format == "prompt_answer":
        _stage_easyr1(dataset, folder, sources)
    _record(dataset, PENDING.format(target), None)
    _record(dataset, target, folder)
    return folder


def has_images(dataset) -> bool:
    return "images" in (dataset.layout or {}).get("columns", {})


def _stage_with_images(dataset, folder: str) -> None:
    """An uploaded archive's data and images in LLaMA-Factory's media layout.

    A job downloads the staged folder to `<dataset_dir>/<name>/`, and LLaMA-Factory looks up each image
    path under `media_dir`, which is `dataset_dir` unless set. So the images go to `staged/<path>` and
    the staged data names them `<name>/<path>`: one `media_dir` serves every dataset of a job.
    """
    from .multimodal import media_files

    data_folder = dataset.storage_uri.rsplit("/", 1)[0] + "/"
    for relative in media_files(dataset):
        storage.copy(storage.join(data_folder, relative), storage.join(folder, relative))
    _write_media_rows(dataset, dataset.storage_uri, "jsonl", storage.join(folder, dataset.data_file_name))


def _stage_prefix_file_with_images(dataset, uri: str, folder: str) -> None:
    """One data file of a registered prefix, as JSON Lines in `staged/<name>/`, and the images its rows
    name (paths under the prefix) at `staged/<path>`, as `_stage_with_images` lays them out."""
    from .readers import file_type_for

    prefix = dataset.source_uri.rstrip("/") + "/"
    stem = uri.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    used = _write_media_rows(dataset, uri, file_type_for(uri),
                             storage.join(folder, f"{dataset.llamafactory_name}/{stem}.jsonl"))
    for relative in sorted(used):
        storage.copy(prefix + relative, storage.join(folder, relative))


def _write_media_rows(dataset, source_uri: str, file_type: str, target_uri: str) -> set[str]:
    """Copy the rows of `source_uri` to `target_uri` (JSON Lines) naming their images `<name>/<path>`;
    returns the paths named."""
    from .images import image_paths, relative_media_path
    from .readers import iter_rows
    from .rows import Layout

    name = dataset.llamafactory_name
    layout = Layout.from_json(dataset.format, dataset.layout)
    column = layout.columns["images"]
    used: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="modelhub-stage-") as tmp, storage.local_copy(source_uri) as src:
        staged = Path(tmp) / "rows.jsonl"
        with open(staged, "wb") as out:
            for _, row in iter_rows(src, file_type):
                paths = [relative_media_path(p) for p in image_paths(row, layout)]
                used.update(paths)
                row[column] = [f"{name}/{p}" for p in paths]
                out.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")
        storage.put_file(staged, target_uri)
    return used


def easyr1_config(dataset, staged_folder: str | None = None) -> dict:
    """`data.*` overrides for EasyR1: train/val files and the prompt and answer keys."""
    if dataset.source in (dataset.Source.BUILTIN, dataset.Source.HF):
        repo = dataset.source_uri
        return {"train_files": f"{repo}@train", "val_files": f"{repo}@test",
                "prompt_key": EASYR1_PROMPT_KEY, "answer_key": EASYR1_ANSWER_KEY}
    base = (staged_folder or "") + EASYR1_DIR
    return {"train_files": f"{base}train.jsonl@train", "val_files": f"{base}val.jsonl@train",
            "prompt_key": EASYR1_PROMPT_KEY, "answer_key": EASYR1_ANSWER_KEY}


def _stage_easyr1(dataset, folder: str, sources: list[str]) -> None:
    """train.jsonl / val.jsonl with EasyR1's default keys; val holds every k-th row (or equals train)."""
    from contextlib import ExitStack

    from .readers import file_type_for, iter_rows
    from .rows import Layout

    layout = Layout.from_json(dataset.format, dataset.layout)
    prompt_key, answer_key = layout.columns["prompt"], layout.columns["response"]
    every = round(1 / dataset.val_fraction) if dataset.val_fraction > 0 else 0
    with tempfile.TemporaryDirectory(prefix="modelhub-easyr1-") as tmp, ExitStack() as stack:
        train_path, val_path = Path(tmp) / "train.jsonl", Path(tmp) / "val.jsonl"
        train, val = stack.enter_context(open(train_path, "wb")), stack.enter_context(open(val_path, "wb"))
        index = 0
        for uri in sources:
            path = stack.enter_context(storage.local_copy(uri))
            for _, row in iter_rows(path, file_type_for(uri)):
                record = {EASYR1_PROMPT_KEY: row[prompt_key], EASYR1_ANSWER_KEY: str(row[answer_key])}
                line = json.dumps(record, ensure_ascii=False).encode() + b"\n"
                index += 1
                (val if every and index % every == 0 else train).write(line)
        train.close()
        val.close()
        if not every:
            val_path = train_path
        storage.put_file(train_path, storage.join(folder, EASYR1_DIR + "train.jsonl"))
        storage.put_file(val_path, storage.join(folder, EASYR1_DIR + "val.jsonl"))
    config = easyr1_config(dataset, folder)
    storage.put_bytes(json.dumps(config, indent=2).encode(), storage.join(folder, EASYR1_DIR + "easyr1.json"))
