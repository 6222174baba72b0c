"""The Hugging Face Hub's repo id rule, the one ModelHub applies to models and datasets everywhere, and the
variable a stored Hugging Face token reaches trainers and engines in."""

import re

# transformers, huggingface_hub, vLLM, SGLang and LMI all read the token from it.
HF_TOKEN_ENV = "HF_TOKEN"

# huggingface_hub.utils.validate_repo_id: owner/name, each part of letters, digits, '_', '-' and '.', starting and
# ending with a letter, digit or '_', at most 96 characters, no "--" or ".." anywhere, not ending in ".git".
# ModelHub always wants the owner.
_HF_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
HF_REPO = re.compile(rf"{_HF_PART}/{_HF_PART}")


def is_hf_repo_id(value: str) -> bool:
    """True for a Hugging Face repo id owner/name."""
    value = value or ""
    return bool(HF_REPO.fullmatch(value)) and "--" not in value and ".." not in value and not value.endswith(".git")
