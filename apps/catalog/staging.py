"""Where a dataset's files live, and staging them for a training backend.

Every dataset owns one folder per store, `datasets/<remote name>/`, under STORAGE_DIR (local store)
or `s3://<S3_BUCKET>/<S3_PREFIX>/` (S3):

    upload/<file>            the uploaded file as received (DATASET_STORE decides which store keeps it)
    staged/<name>.<ext>      the data as LLaMA-Factory reads it (`dataset_dir` = staged/)
    staged/dataset_info.json the one-entry dataset_info.json for it
    staged/easyr1/           train/val files and easyr1.json for the GRPO family (prompt_answer datasets)

Deleting a dataset removes these folders and nothing else (a registered S3 prefix stays untouched).
"""

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
