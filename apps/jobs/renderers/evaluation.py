"""LLaMA-Factory configs of the evaluation kinds (pure: settings + context -> dict / YAML text).

Predict runs `llamafactory-cli train predict.yaml` (stage sft, do_predict, predict_with_generate); the
benchmark runs `llamafactory-cli eval benchmark.yaml`. Both write under the job's output folder.
"""

from __future__ import annotations

from .context import JobContext
from .yamlio import dump

BENCHMARK_TEMPLATE = "fewshot"  # LLaMA-Factory's plain template for multiple-choice prompts
BENCHMARK_TASK_DIR = "/app/evaluation"  # the task folders in the official image's checkout
# BLEU / ROUGE need LLaMA-Factory's `metrics` extra, which the official image installs (`.[metrics,deepspeed]`);
# LLaMA-Factory checks them at start-up when predict_with_generate is on.
METRICS_PACKAGES = ("jieba", "nltk", "rouge-chinese")


def _model_keys(source) -> dict:
    keys = {"model_name_or_path": source.model_name_or_path}
    if source.adapter_dir:
        keys["adapter_name_or_path"] = source.adapter_dir
    keys.update(trust_remote_code=source.trust_remote_code, finetuning_type="lora" if source.adapter_dir else "full")
    return keys


def predict_config(settings, ctx: JobContext) -> dict:
    c = _model_keys(settings.source)
    c.update(stage="sft", do_predict=True, predict_with_generate=True,
             eval_dataset=",".join(settings.datasets), dataset_dir=ctx.data_dir, template=settings.source.template,
             cutoff_len=settings.cutoff_len)
    if settings.max_samples is not None:
        c["max_samples"] = settings.max_samples
    c.update(overwrite_cache=True, preprocessing_num_workers=4, output_dir=ctx.output_dir, overwrite_output_dir=True,
             report_to="none", per_device_eval_batch_size=settings.batch_size, do_sample=settings.do_sample)
    if settings.do_sample:
        c.update(temperature=settings.temperature, top_p=settings.top_p)
    c.update(max_new_tokens=settings.max_new_tokens, ddp_timeout=180000000)
    return c


def benchmark_config(settings, ctx: JobContext, task_dir: str = BENCHMARK_TASK_DIR) -> dict:
    c = _model_keys(settings.source)
    c.update(template=BENCHMARK_TEMPLATE, task=settings.task, task_dir=task_dir, lang=settings.lang,
             n_shot=settings.n_shot, batch_size=settings.batch_size, save_dir=f"{ctx.output_dir}/benchmark")
    return c


def render_predict_yaml(settings, ctx: JobContext) -> str:
    return dump(predict_config(settings, ctx))


def render_benchmark_yaml(settings, ctx: JobContext, task_dir: str = BENCHMARK_TASK_DIR) -> str:
    return dump(benchmark_config(settings, ctx, task_dir))
