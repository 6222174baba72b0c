"""Rows for job tests, made without the spec validator (tests of the spec live elsewhere)."""

from apps.jobs.models import TrainingJob

LORA_SFT_SPEC = {"job_type": "sft", "finetuning_method": "lora"}


def make_job(owner, *, name="my-job", job_type="sft", status=None, spec=None, **fields) -> TrainingJob:
    job = TrainingJob(owner=owner, name=name, job_type=job_type, spec=spec or {**LORA_SFT_SPEC, "job_type": job_type}, **fields)
    if status:
        job.status = status
    job.save()
    return job
