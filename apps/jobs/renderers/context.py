"""What renderers need besides the spec: the job's datasets and where things live in the container.

The platform passes a plain dict (job id and name, catalog Dataset rows, the job's locations, and
`store`: the catalog store its target reads staged datasets from, "s3" unless given);
`job_context()` turns it into a frozen `JobContext` without touching the database or the network.
Container paths have defaults matching docker/ and can be overridden in the dict.
"""

from __future__ import annotations

import dataclasses
from typing import Any

# Paths inside the training container (docker/entrypoint reads the same manifest).
CONFIG_DIR = "/opt/ml/input/config/modelhub"
DATA_DIR = "/opt/ml/input/data/datasets"
MODEL_DIR = "/opt/ml/input/data/base_model"
REWARD_MODEL_DIR = "/opt/ml/input/data/reward_model"
RESUME_DIR = "/opt/ml/input/data/resume"
CHECKPOINT_DIR = "/opt/ml/checkpoints"  # SageMaker CheckpointConfig.LocalPath, synced to S3 while training
EXPORT_DIR = "/opt/ml/output/export"
LLAMAFACTORY_ROOT = "/app"  # the LLaMA-Factory checkout in its official image
EASYR1_ROOT = "/opt/easyr1"  # the EasyR1 checkout docker/easyr1.Dockerfile pins


@dataclasses.dataclass(frozen=True)
class DatasetRef:
    """One catalog dataset as the run sees it."""

    name: str  # the dataset_info.json key (Dataset.llamafactory_name)
    staged_uri: str | None = None  # the folder the catalog staged on the target's store (downloaded to <data_dir>/<name>/)
    entry: dict | None = None  # dataset_info.json entry, file_name relative to the staged folder; None: built-in
    easyr1: dict | None = None  # EasyR1 data.* keys (train_files, val_files, prompt_key, answer_key)


@dataclasses.dataclass(frozen=True)
class JobContext:
    job_id: Any = None
    job_name: str = "modelhub-job"
    datasets: tuple[DatasetRef, ...] = ()
    output_uri: str = ""  # the job's prefix: model/, merged/, huggingface/ live under it
    checkpoint_uri: str = ""
    config_uri: str = ""
    config_dir: str = CONFIG_DIR
    data_dir: str = DATA_DIR
    model_dir: str = MODEL_DIR
    reward_model_dir: str = REWARD_MODEL_DIR
    resume_dir: str = RESUME_DIR
    checkpoint_dir: str = CHECKPOINT_DIR
    export_dir: str = EXPORT_DIR
    llamafactory_root: str = LLAMAFACTORY_ROOT
    easyr1_root: str = EASYR1_ROOT

    def dataset_dir(self, ref: DatasetRef) -> str:
        return f"{self.data_dir}/{ref.name}"

    @property
    def output_dir(self) -> str:
        """Where the trainer writes checkpoints, trainer_log.jsonl and the final model (synced live)."""
        return f"{self.checkpoint_dir}/output"

    def uri(self, directory: str) -> str:
        return f"{self.output_uri}{directory}" if self.output_uri else ""


DEFAULT_STORE = "s3"


def dataset_ref(dataset, data_dir: str = DATA_DIR, store: str = DEFAULT_STORE) -> DatasetRef:
    """A catalog Dataset row -> DatasetRef (attribute reads only, no queries); `store` is where the
    target reads staged copies ("s3", "local": Dataset.staged's keys)."""
    name = dataset.llamafactory_name
    source = str(dataset.source)
    if source == "builtin":
        entry = None
    elif source == "s3":
        entry = dataset.llamafactory_entry(name)  # staged as a folder named after the dataset
    else:
        entry = dataset.llamafactory_entry()
    easyr1 = None
    if str(dataset.format) == "prompt_answer":
        from apps.catalog.staging import easyr1_config

        easyr1 = easyr1_config(dataset, f"{data_dir}/{name}/")
    return DatasetRef(name=name, staged_uri=(dataset.staged or {}).get(store), entry=entry, easyr1=easyr1)


def job_context(context: JobContext | dict | None) -> JobContext:
    if isinstance(context, JobContext):
        return context
    values = dict(context or {})
    fields = {f.name for f in dataclasses.fields(JobContext)}
    data_dir = values.get("data_dir", DATA_DIR)
    store = values.get("store") or DEFAULT_STORE
    refs = tuple(
        d if isinstance(d, DatasetRef) else DatasetRef(**d) if isinstance(d, dict) else dataset_ref(d, data_dir, store)
        for d in values.get("datasets", ())
    )
    values["datasets"] = refs
    if values.get("job_name") is not None:
        values["job_name"] = str(values["job_name"])
    return JobContext(**{k: v for k, v in values.items() if k in fields})
