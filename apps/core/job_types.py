"""The ten training job types and the tool that runs each.

LLaMA-Factory runs the supervised and preference stages; EasyR1 (veRL) runs the GRPO family.
Catalog (which datasets suit which type), jobs (spec and renderers) and endpoints (what a job
exports) all read this one table.
"""

from django.db import models


class JobType(models.TextChoices):
    SFT = "sft", "Supervised fine-tuning"
    PT = "pt", "Continued pre-training"
    PPO = "ppo", "PPO (reward-model RLHF)"
    DPO = "dpo", "DPO (preference pairs)"
    KTO = "kto", "KTO (desirable / undesirable)"
    RM = "rm", "Reward model"
    GRPO = "grpo", "GRPO"
    DAPO = "dapo", "DAPO"
    GSPO = "gspo", "GSPO"
    CISPO = "cispo", "CISPO"


LLAMAFACTORY_TYPES = frozenset({JobType.SFT, JobType.PT, JobType.PPO, JobType.DPO, JobType.KTO, JobType.RM})
EASYR1_TYPES = frozenset({JobType.GRPO, JobType.DAPO, JobType.GSPO, JobType.CISPO})


def tool_for(job_type: str) -> str:
    return "easyr1" if job_type in EASYR1_TYPES else "llamafactory"
