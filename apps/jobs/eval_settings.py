"""Settings of the two evaluation job kinds, with their rules as field errors.

`eval` (evaluate and predict): LLaMA-Factory's sft stage with `do_predict` and `predict_with_generate` over
held-out datasets; it writes BLEU-4 / ROUGE to `predict_results.json` and every prediction to
`generated_predictions.jsonl`. `benchmark`: LLaMA-Factory's `eval` CLI (`get_eval_args`) over a
multiple-choice task folder (MMLU, CMMLU, C-Eval); it writes per-category accuracy to `results.log`.

The model is either a base model or a succeeded job's output: `adapter_dir` is set when that job
trained a LoRA adapter, and the base it was trained on is `model_name_or_path`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

# LLaMA-Factory task names are "<folder>_<split>" (the evaluator splits on "_").
BENCHMARK_TASKS = {
    "mmlu_test": "MMLU",
    "cmmlu_test": "CMMLU",
    "ceval_validation": "C-Eval",
}
BENCHMARK_LANGS = ("en", "zh")
MAX_SHOTS = 5  # the benchmarks' dev splits hold five examples per subject
MAX_NEW_TOKENS = 4096
MAX_BATCH_SIZE = 64


@dataclasses.dataclass(frozen=True)
class ModelSource:
    model_name_or_path: str
    template: str
    adapter_dir: str | None = None  # a LoRA job's output folder
    trust_remote_code: bool = False  # the model's own code; a permission, as for training (GroupPolicy)

    def field_errors(self) -> dict[str, str]:
        errors = {}
        if not self.model_name_or_path:
            errors["source"] = "Choose a base model or one of your succeeded jobs."
        if not self.template:
            errors["template"] = "The chat template is required."
        return errors


@dataclasses.dataclass(frozen=True)
class PredictSettings:
    source: ModelSource
    datasets: tuple[str, ...]  # dataset_info.json names of the held-out datasets
    max_new_tokens: int = 512
    temperature: float = 0.95
    top_p: float = 0.7
    do_sample: bool = True
    max_samples: int | None = 200
    cutoff_len: int = 2048
    batch_size: int = 1

    def field_errors(self) -> dict[str, str]:
        errors = self.source.field_errors()
        if not self.datasets:
            errors["datasets"] = "Choose at least one held-out dataset."
        if not 1 <= self.max_new_tokens <= MAX_NEW_TOKENS:
            errors["max_new_tokens"] = f"Between 1 and {MAX_NEW_TOKENS}."
        if self.do_sample and not 0 < self.temperature <= 2:
            errors["temperature"] = "Above 0 and at most 2 when sampling."
        if not 0 < self.top_p <= 1:
            errors["top_p"] = "Above 0 and at most 1."
        if self.max_samples is not None and self.max_samples < 1:
            errors["max_samples"] = "At least 1, or empty for every row."
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            errors["batch_size"] = f"Between 1 and {MAX_BATCH_SIZE}."
        return errors


@dataclasses.dataclass(frozen=True)
class BenchmarkSettings:
    source: ModelSource
    task: str = "mmlu_test"
    n_shot: int = 5
    lang: str = "en"
    batch_size: int = 4

    def field_errors(self) -> dict[str, str]:
        errors = self.source.field_errors()
        if self.task not in BENCHMARK_TASKS:
            errors["task"] = f"One of {', '.join(sorted(BENCHMARK_TASKS))}."
        if not 0 <= self.n_shot <= MAX_SHOTS:
            errors["n_shot"] = f"Between 0 and {MAX_SHOTS} examples."
        if self.lang not in BENCHMARK_LANGS:
            errors["lang"] = "en or zh."
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            errors["batch_size"] = f"Between 1 and {MAX_BATCH_SIZE}."
        return errors

    @property
    def folder(self) -> str:
        return self.task.split("_", 1)[0]


def benchmark_data_error(task_dir: str | Path, task: str) -> str | None:
    """Why the benchmark cannot run from `task_dir`, or None. The pip package ships no task data and nothing
    may be downloaded at run time, so a target without the folder says so before the job is created."""
    folder = Path(task_dir) / task.split("_", 1)[0]
    if not (folder / "mapping.json").is_file():
        return (f"The {BENCHMARK_TASKS.get(task, task)} task data is not installed on this target "
                f"(no {folder}/mapping.json); the LLaMA-Factory package does not include it.")
    return None
