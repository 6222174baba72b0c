"""Evaluate-and-predict and benchmark: settings rules, rendered configs (golden), and result parsing.

Regenerate the golden files with
    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/jobs/test_evaluation_kinds.py
and review the diff of tests/jobs/golden/evaluation/.
"""

import dataclasses
import json
import os

import pytest
import yaml

from apps.jobs import eval_results
from apps.jobs.eval_settings import (
    BENCHMARK_TASKS, BenchmarkSettings, ModelSource, PredictSettings, benchmark_data_error,
)
from apps.jobs.renderers import llamafactory_schema as lf
from apps.jobs.renderers.evaluation import benchmark_config, predict_config

from .evaluation_cases import BASE, BENCHMARK, CONTEXT, GOLDEN, LORA_JOB, PREDICT, rendered


@pytest.mark.parametrize("name", sorted(rendered()))
def test_rendered_config_matches_golden(name):
    text = rendered()[name]
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.read_text() == text


def test_every_golden_file_has_a_case():
    on_disk = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*.yaml")}
    assert on_disk == set(rendered())


@pytest.mark.parametrize("case", sorted(PREDICT))
def test_predict_config_is_a_generation_run_of_the_chosen_model(case):
    settings = PREDICT[case]
    config = predict_config(settings, CONTEXT)
    assert set(config) <= lf.HPARAM_KEYS
    assert (config["stage"], config["do_predict"], config["predict_with_generate"]) == ("sft", True, True)
    assert "do_train" not in config and "dataset" not in config  # only the held-out set is read
    assert config["eval_dataset"].split(",") == list(settings.datasets)
    assert config["max_new_tokens"] == settings.max_new_tokens
    assert config["output_dir"] == CONTEXT.output_dir
    if settings.source.adapter_dir:
        assert (config["adapter_name_or_path"], config["finetuning_type"]) == (settings.source.adapter_dir, "lora")
    else:
        assert "adapter_name_or_path" not in config
    assert ("temperature" in config) == settings.do_sample
    assert ("max_samples" in config) == (settings.max_samples is not None)


@pytest.mark.parametrize("case", sorted(BENCHMARK))
def test_benchmark_config_names_the_task_and_few_shot_setting(case):
    settings = BENCHMARK[case]
    config = benchmark_config(settings, CONTEXT, task_dir="/tasks")
    assert (config["task"], config["n_shot"], config["lang"]) == (settings.task, settings.n_shot, settings.lang)
    assert config["task_dir"] == "/tasks" and config["template"] in lf.TEMPLATES
    assert config["save_dir"].startswith(CONTEXT.output_dir + "/")
    assert ("adapter_name_or_path" in config) == bool(settings.source.adapter_dir)


def test_default_settings_validate():
    assert PredictSettings(BASE, ("mh_7_chat",)).field_errors() == {}
    assert BenchmarkSettings(BASE).field_errors() == {}


@pytest.mark.parametrize("change, field", [
    ({"datasets": ()}, "datasets"),
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"temperature": 0.0}, "temperature"),
    ({"top_p": 1.5}, "top_p"),
    ({"max_samples": 0}, "max_samples"),
    ({"batch_size": 0}, "batch_size"),
    ({"source": ModelSource("", "qwen3")}, "source"),
    ({"source": ModelSource("Qwen/Qwen3-4B", "")}, "template"),
])
def test_bad_predict_settings_are_field_errors(change, field):
    settings = dataclasses.replace(PredictSettings(LORA_JOB, ("mh_7_chat",)), **change)
    assert set(settings.field_errors()) == {field}


def test_greedy_decoding_needs_no_temperature():
    assert PredictSettings(BASE, ("d",), do_sample=False, temperature=0.0).field_errors() == {}


@pytest.mark.parametrize("change, field", [
    ({"task": "mmlu"}, "task"), ({"task": "gsm8k_test"}, "task"), ({"n_shot": 6}, "n_shot"), ({"n_shot": -1}, "n_shot"),
    ({"lang": "fr"}, "lang"), ({"batch_size": 65}, "batch_size"),
])
def test_bad_benchmark_settings_are_field_errors(change, field):
    assert set(dataclasses.replace(BenchmarkSettings(BASE), **change).field_errors()) == {field}


def test_missing_benchmark_data_is_reported_before_the_run(tmp_path):
    for task in BENCHMARK_TASKS:
        assert "not installed" in benchmark_data_error(tmp_path, task)
    (tmp_path / "cmmlu").mkdir()
    (tmp_path / "cmmlu" / "mapping.json").write_text("{}")
    assert benchmark_data_error(tmp_path, "cmmlu_test") is None
    assert benchmark_data_error(tmp_path, "mmlu_test") is not None


# The shapes below are the ones LLaMA-Factory 0.9.4 writes (train/sft/trainer.py save_predictions,
# Trainer.save_metrics("predict"), eval/evaluator.py _save_results); tests/jobs/test_evaluation_real_runs.py
# reads the files of a real run.
PREDICT_RESULTS = {"predict_bleu-4": 12.34567, "predict_model_preparation_time": 0.0021, "predict_rouge-1": 30.1,
                   "predict_rouge-2": 9.5, "predict_rouge-l": 21.25, "predict_runtime": 4.2,
                   "predict_samples_per_second": 0.476, "predict_steps_per_second": 0.476}


def test_predict_metrics_are_bleu_and_rouge():
    assert eval_results.predict_metrics(json.dumps(PREDICT_RESULTS)) == {
        "bleu-4": 12.3457, "rouge-1": 30.1, "rouge-2": 9.5, "rouge-l": 21.25}
    assert eval_results.predict_metrics(json.dumps({"predict_runtime": 1.0})) == {}


def test_prediction_samples_skip_torn_lines_and_stop_at_the_count():
    rows = [{"prompt": f"user q{i}", "predict": f"p{i}", "label": f"l{i}"} for i in range(8)]
    text = "\n".join([json.dumps(rows[0]), '{"prompt": "torn', json.dumps({"prompt": "x"})]
                     + [json.dumps(r) for r in rows[1:]])
    samples = eval_results.prediction_samples(text, count=3)
    assert samples == [{"prompt": f"user q{i}", "label": f"l{i}", "prediction": f"p{i}"} for i in range(3)]
    long = json.dumps({"prompt": "a" * 5000, "predict": "b", "label": "c"})
    assert len(eval_results.prediction_samples(long)[0]["prompt"]) == eval_results.SAMPLE_CHARS


def test_benchmark_scores_per_category():
    log = ("        Average: 47.25\n           STEM: 38.10\nSocial Sciences: 55.00\n"
           "     Humanities: 44.44\n          Other: 50.00")
    assert eval_results.benchmark_scores(log) == {"Average": 47.25, "STEM": 38.1, "Social Sciences": 55.0,
                                                  "Humanities": 44.44, "Other": 50.0}
    assert list(eval_results.benchmark_scores(log))[0] == "Average"
    assert eval_results.benchmark_scores("garbage\nSTEM: n/a") == {}


def test_subject_answer_counts():
    results = {"abstract_algebra": {"0": "A", "1": "C"}, "anatomy": {"0": "B"}}
    assert eval_results.subject_answer_counts(json.dumps(results)) == {"abstract_algebra": 2, "anatomy": 1}


def test_golden_yaml_reads_back_as_rendered():
    for name, text in rendered().items():
        assert yaml.safe_load(text) == yaml.safe_load((GOLDEN / name).read_text())


def test_subject_accuracy_compares_chosen_letters_with_answers():
    results = json.dumps({"algebra": {"0": "A", "1": "C", "2": "B"}, "anatomy": {"0": "B"}, "law": {"0": "A"}})
    answers = {"algebra": ["A", "B", "B"], "anatomy": ["D"]}
    assert eval_results.subject_accuracy(results, answers) == {"algebra": 66.67, "anatomy": 0.0}
