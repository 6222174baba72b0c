"""The evaluation kinds against the real LLaMA-Factory (LOCAL_PYTHON, the training image's version): every
rendered config passes its real parser (get_train_args for predict, get_eval_args for the benchmark), the
parsers refuse what the settings refuse, and a real benchmark run of the tiny model over a tiny task folder
writes the files the result readers read. Skips with the reason when the ML environment is missing.

The predict run itself is not exercised here: LLaMA-Factory computes BLEU / ROUGE with jieba, nltk and
rouge-chinese, which the training image has and the local ML environment does not.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from apps.jobs import eval_results
from apps.jobs.eval_settings import BenchmarkSettings, ModelSource
from apps.jobs.renderers.context import job_context
from apps.jobs.renderers.evaluation import METRICS_PACKAGES, render_benchmark_yaml

from .benchmark_task import QUESTIONS, SUBJECTS, build_task
from .evaluation_cases import GOLDEN
from .test_render_llamafactory_parser import local_python, parse

REPO = Path(__file__).resolve().parents[2]
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DISABLE_VERSION_CHECK": "1"}


def goldens(file_name: str) -> dict:
    return {str(p.parent.relative_to(GOLDEN)): yaml.safe_load(p.read_text()) for p in GOLDEN.rglob(file_name)}


def test_real_parsers_accept_every_evaluation_golden():
    python = local_python()
    predict, benchmark = goldens("predict.yaml"), goldens("benchmark.yaml")
    assert predict and benchmark
    answer = parse(python, predict, {}, benchmark, extra_packages=METRICS_PACKAGES)
    assert answer["results"] == {name: "ok" for name in [*predict, *benchmark]}


def test_real_parsers_refuse_what_the_settings_refuse():
    python = local_python()
    predict = yaml.safe_load((GOLDEN / "predict-lora" / "predict.yaml").read_text())
    benchmark = yaml.safe_load((GOLDEN / "benchmark-mmlu-lora" / "benchmark.yaml").read_text())
    bad_predict = {"predict-without-generation": {**predict, "predict_with_generate": False},
                   "generation-outside-sft": {**predict, "stage": "rm"}}
    # The parser does not check values of a YAML (an unknown `lang` fails later, in the evaluator): the settings'
    # field errors refuse those (test_evaluation_kinds); unknown and missing keys the parser refuses itself.
    bad_benchmark = {"typo": {**benchmark, "nshot": 5},
                     "no-task": {k: v for k, v in benchmark.items() if k != "task"}}
    answer = parse(python, bad_predict, {}, bad_benchmark, extra_packages=METRICS_PACKAGES)
    accepted = sorted(name for name, result in answer["results"].items() if result == "ok")
    assert not accepted, f"the real parser accepted {accepted}"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    python = local_python()
    folder = tmp_path_factory.mktemp("models") / "tiny-chat"
    subprocess.run([python, str(REPO / "apps/backends/local/tiny_model.py"), str(folder)], check=True,
                   capture_output=True, timeout=300)
    return folder


def test_a_real_benchmark_run_gives_scores_per_category_and_subject(tiny_model, tmp_path):
    python = local_python()
    build_task(tmp_path / "tasks", "tiny")
    settings = BenchmarkSettings(ModelSource(str(tiny_model), "qwen"), task="tiny_test", n_shot=1, batch_size=2)
    ctx = job_context({"checkpoint_dir": str(tmp_path / "ckpt")})
    config = tmp_path / "benchmark.yaml"
    config.write_text(render_benchmark_yaml(settings, ctx, task_dir=str(tmp_path / "tasks")))

    if str(REPO / "docker" / "entrypoint") not in sys.path:  # the image's entry point package
        sys.path.insert(0, str(REPO / "docker" / "entrypoint"))
    from modelhub_train import commands

    env = {**os.environ, **OFFLINE, "HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run(commands.llamafactory_benchmark(str(config), python=python), capture_output=True,
                          text=True, timeout=600, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    save_dir = Path(yaml.safe_load(config.read_text())["save_dir"])
    categories = eval_results.benchmark_scores((save_dir / "results.log").read_text())
    results = (save_dir / "results.json").read_text()

    answers = {s: [row[-1] for row in rows[1:]] for s, rows in QUESTIONS.items()}  # the test split (build_task)
    per_subject = eval_results.subject_accuracy(results, answers)
    assert set(per_subject) == set(SUBJECTS)
    assert eval_results.subject_answer_counts(results) == {s: len(a) for s, a in answers.items()}
    # LLaMA-Factory's per-category figures are what the per-subject answers add up to.
    for subject, (_, category) in SUBJECTS.items():
        assert categories[category] == pytest.approx(per_subject[subject], abs=0.01)
    total = sum(len(a) for a in answers.values())
    average = sum(per_subject[s] * len(a) for s, a in answers.items()) / total
    assert categories["Average"] == pytest.approx(average, abs=0.01)
    assert set(categories) == {"Average", *(c for _, c in SUBJECTS.values())}
