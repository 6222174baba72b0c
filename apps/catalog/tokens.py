"""Token counting for dataset statistics.

With `transformers` installed and the base model's tokenizer in the local Hugging Face cache
(never downloaded here), counts are exact; otherwise they are a clearly labelled estimate of one
token per four characters, which is close for English text with modern BPE vocabularies.
"""

from dataclasses import dataclass
from typing import Protocol


class TokenCounter(Protocol):
    label: str
    exact: bool

    def count(self, text: str) -> int: ...


@dataclass(frozen=True)
class EstimatedCounter:
    label: str = "estimate (characters ÷ 4)"
    exact: bool = False

    def count(self, text: str) -> int:
        return (len(text) + 3) // 4


@dataclass(frozen=True)
class TokenizerCounter:
    tokenizer: object
    label: str
    exact: bool = True

    def count(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])


def counter_for(base_model=None) -> TokenCounter:
    """The base model's own tokenizer when it is available offline, else the estimate."""
    repo = getattr(base_model, "repo_id", "")
    if repo:
        try:
            from transformers import AutoTokenizer  # optional dependency

            tokenizer = AutoTokenizer.from_pretrained(repo, local_files_only=True)
        except Exception:  # not installed, or not in the local cache: fall back to the estimate
            pass
        else:
            return TokenizerCounter(tokenizer, f"{repo} tokenizer")
    return EstimatedCounter()
