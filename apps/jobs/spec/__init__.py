"""TrainingSpec: the one validated description of a training job, shared by the form and the API.

`TrainingSpecSerializer` validates a request (field-level errors for every cross-field rule) and
fills per-type defaults; `TrainingSpec` is the frozen result that renderers consume and the job row
stores as JSON (`to_dict()` / `from_dict()`).

Fields that do not apply to the job type (preference settings on an SFT job, LoRA settings on a
full fine-tune, ...) are dropped to None, so a stored spec says only what the run uses.

Modules: fields (choices, applicability, form sections, defaults), model (TrainingSpec), checks
(single-value validators), rules (cross-field rules), serializer.
"""

from .checks import check_format_prompt, check_reward_code, instance_type_choices, is_hf_repo_id, validate_s3_uri
from .fields import (
    ALL_TYPES, APPLIES_TO, BOOSTERS, BUILTIN_FORMAT_PROMPTS, BUILTIN_REWARDS, DEEPSPEED_STAGES, DPO_LOSSES,
    FORMAT_PROMPTS, LF, METHODS, NULL_IS_A_VALUE, PRECISIONS, R1, REWARD_FUNCTIONS, SECTIONS, TRACKERS, applies,
    defaults_for, fields_for,
)
from .model import TrainingSpec
from .serializer import TrainingSpecSerializer

__all__ = [
    "ALL_TYPES", "APPLIES_TO", "BOOSTERS", "BUILTIN_FORMAT_PROMPTS", "BUILTIN_REWARDS", "DEEPSPEED_STAGES",
    "DPO_LOSSES", "FORMAT_PROMPTS", "LF", "METHODS", "NULL_IS_A_VALUE", "PRECISIONS", "R1", "REWARD_FUNCTIONS",
    "SECTIONS", "TRACKERS", "TrainingSpec", "TrainingSpecSerializer", "applies", "check_format_prompt",
    "check_reward_code", "defaults_for", "fields_for", "instance_type_choices", "is_hf_repo_id", "validate_s3_uri",
]
