"""Rows for job tests, made without the spec validator (tests of the spec live elsewhere)."""

from apps.catalog.models import Dataset
from apps.jobs import bundle, submission
from apps.jobs.models import TrainingJob

LORA_SFT_SPEC = {"job_type": "sft", "finetuning_method": "lora", "base_model": "Qwen/Qwen3-0.6B",
                 "base_model_source": "hf", "base_model_uri": "Qwen/Qwen3-0.6B"}


def make_job(owner, *, name="my-job", job_type="sft", status=None, spec=None, **fields) -> TrainingJob:
    spec = {**LORA_SFT_SPEC, "job_type": job_type, **(spec or {})}
    job = TrainingJob(owner=owner, name=name, job_type=job_type, spec=spec, **fields)
    if status:
        job.status = status
    job.save()
    return job


FORMAT_FOR_TYPE = {
    "sft": "alpaca", "ppo": "alpaca", "pt": "text", "dpo": "preference", "rm": "preference", "kto": "kto",
    "grpo": "prompt_answer", "dapo": "prompt_answer", "gspo": "prompt_answer", "cispo": "prompt_answer",
}


def make_dataset(owner, fmt: str, name: str | None = None, *, staged: bool = False):
    """A ready catalog dataset; `staged`: already copied to both stores (nothing to stage at submit)."""
    ds = Dataset(owner=owner, name=name or f"{fmt}-data", source="s3", source_uri=f"s3://user-data/{fmt}/",
                 format=fmt, status="ready", row_count=100, file_name=f"{fmt}.jsonl", file_type="jsonl")
    if staged:
        ds.staged = {"s3": f"s3://modelhub-test/datasets/{fmt}/staged/", "local": f"file:///tmp/datasets/{fmt}/staged/"}
    ds.save()
    return ds


def valid_spec(job_type: str, dataset) -> dict:
    """A minimal valid create request for `job_type` (name + spec)."""
    spec = {"name": f"{job_type}-run", "job_type": job_type, "base_model": "Qwen/Qwen3-0.6B",
            "datasets": [str(dataset.pk)]}
    if job_type not in ("pt", "grpo", "dapo", "gspo", "cispo"):
        spec["template"] = "qwen3"
    if job_type == "ppo":
        spec["reward_model"] = "s3://modelhub-test/jobs/rm-run/merged/"
    if job_type in ("grpo", "dapo", "gspo", "cispo"):
        spec["reward_function"] = "math"
    return spec


def trainer_log_uri(job) -> str:
    """Where the job's trainer log is read from (the target's storage)."""
    return submission.locations(job, bundle.training_spec(job)).trainer_log
