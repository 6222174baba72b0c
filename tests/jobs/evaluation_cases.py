"""The evaluation kinds' golden cases (shared by the golden test and the real-parser test)."""

from pathlib import Path

from apps.jobs.eval_settings import BenchmarkSettings, ModelSource, PredictSettings
from apps.jobs.renderers.context import job_context
from apps.jobs.renderers.evaluation import render_benchmark_yaml, render_predict_yaml

GOLDEN = Path(__file__).parent / "golden" / "evaluation"
CONTEXT = job_context({"job_id": 43, "job_name": "mh-golden-43eval"})

LORA_JOB = ModelSource("Qwen/Qwen3-4B", "qwen3", adapter_dir="/opt/ml/input/data/source_model")
BASE = ModelSource("Qwen/Qwen3-4B", "qwen3")

PREDICT = {
    "predict-lora": PredictSettings(LORA_JOB, ("mh_7_chat",)),
    "predict-base-greedy-all-rows": PredictSettings(BASE, ("mh_7_chat", "mh_8_more"), max_new_tokens=128,
                                                    do_sample=False, max_samples=None, batch_size=4),
}
BENCHMARK = {
    "benchmark-mmlu-lora": BenchmarkSettings(LORA_JOB),
    "benchmark-ceval-zh-zero-shot": BenchmarkSettings(BASE, task="ceval_validation", lang="zh", n_shot=0,
                                                      batch_size=8),
}


def rendered() -> dict[str, str]:
    """case/file name -> YAML text."""
    files = {f"{case}/predict.yaml": render_predict_yaml(s, CONTEXT) for case, s in PREDICT.items()}
    files.update({f"{case}/benchmark.yaml": render_benchmark_yaml(s, CONTEXT) for case, s in BENCHMARK.items()})
    return files
