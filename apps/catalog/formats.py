"""Dataset formats ModelHub recognises, and the job types each one serves."""

from django.db import models

from apps.core.job_types import JobType


class DatasetFormat(models.TextChoices):
    ALPACA = "alpaca", "Alpaca instructions"
    SHAREGPT = "sharegpt", "ShareGPT conversations"
    OPENAI = "openai", "OpenAI messages"
    PREFERENCE = "preference", "Preference pairs (chosen / rejected)"
    KTO = "kto", "KTO (desirability label)"
    PROMPT_ANSWER = "prompt_answer", "Prompt with reference answer"
    TEXT = "text", "Plain text"


JOB_TYPES_BY_FORMAT: dict[str, tuple[str, ...]] = {
    DatasetFormat.ALPACA: (JobType.SFT, JobType.PPO),
    DatasetFormat.SHAREGPT: (JobType.SFT, JobType.PPO),
    DatasetFormat.OPENAI: (JobType.SFT, JobType.PPO),
    DatasetFormat.PREFERENCE: (JobType.DPO, JobType.RM),
    DatasetFormat.KTO: (JobType.KTO,),
    DatasetFormat.PROMPT_ANSWER: (JobType.GRPO, JobType.DAPO, JobType.GSPO, JobType.CISPO),
    DatasetFormat.TEXT: (JobType.PT,),
}


def job_types_for(fmt: str) -> list[str]:
    return [str(t) for t in JOB_TYPES_BY_FORMAT.get(fmt, ())]


def formats_for(job_type: str) -> list[str]:
    """The formats whose datasets a job of `job_type` can train on."""
    return [str(fmt) for fmt, types in JOB_TYPES_BY_FORMAT.items() if job_type in types]
