"""MetricDefinitions regexes against real trainer log lines, and the trainer_log.jsonl parser."""

import re

import pytest

from apps.jobs.renderers import metric_definitions, parse_trainer_log, progress
from apps.jobs.renderers.metrics import parse_duration

# Lines as the trainers print them (CloudWatch shows stdout verbatim, tqdm noise around them).
HF_TRAIN = "{'loss': 1.8123, 'grad_norm': 0.5321, 'learning_rate': 2.4e-05, 'epoch': 0.08}"
HF_TRAIN_NEW = "{'loss': '1.812', 'grad_norm': '0.5321', 'learning_rate': '2.4e-05', 'epoch': '0.08'}"
HF_EVAL = "{'eval_loss': 1.1042, 'eval_runtime': 12.3, 'eval_samples_per_second': 40.1, 'epoch': 1.6}"
LF_WEBUI = "[INFO|2026-11-29 14:00:00] llamafactory.train.callbacks:143 >> {'loss': 0.9876, 'learning_rate': 1.0000e-04, 'epoch': 2.50, 'throughput': 1234.56}"
TQDM = " 27%|██▋       | 100/375 [01:40<04:35,  1.00s/it]" + HF_TRAIN
HF_FINAL = "{'train_runtime': 500.1, 'train_samples_per_second': 3.2, 'train_steps_per_second': 0.75, 'train_loss': 1.23, 'epoch': 3.0}"


def extract(job_type, line):
    found = {}
    for definition in metric_definitions(job_type):
        match = re.search(definition["Regex"], line)
        if match:
            found[definition["Name"]] = float(match.group(1))
    return found


@pytest.mark.parametrize("job_type", ["sft", "pt", "ppo", "dpo", "kto", "rm", "grpo", "dapo", "gspo", "cispo"])
def test_definitions_within_sagemaker_limits(job_type):
    definitions = metric_definitions(job_type)
    assert 1 <= len(definitions) <= 40
    for d in definitions:
        assert set(d) == {"Name", "Regex"} and len(d["Regex"]) <= 500 and re.compile(d["Regex"]).groups == 1


def test_hf_trainer_line():
    assert extract("sft", HF_TRAIN) == {"loss": 1.8123, "learning_rate": 2.4e-05, "epoch": 0.08, "grad_norm": 0.5321}
    assert extract("sft", HF_TRAIN_NEW) == {"loss": 1.812, "learning_rate": 2.4e-05, "epoch": 0.08, "grad_norm": 0.5321}
    assert extract("dpo", TQDM)["loss"] == 1.8123


def test_eval_line_is_not_training_loss():
    found = extract("sft", HF_EVAL)
    assert found == {"eval_loss": 1.1042, "epoch": 1.6}


def test_llamafactory_line():
    assert extract("kto", LF_WEBUI) == {"loss": 0.9876, "learning_rate": 1e-04, "epoch": 2.5}


def test_summary_line_train_loss_is_not_loss():
    assert "loss" not in extract("sft", HF_FINAL)


# EasyR1's ConsoleLogger: print(f"Step {step}\n" + yaml.dump(unflatten_dict(metrics), indent=2)).
EASYR1_STEP = """Step 3
actor:
  grad_norm: 0.53
  kl_loss: 0.002
  lr: 1.0e-06
  pg_loss: -0.0123
critic:
  score:
    mean: 0.42
response_length:
  mean: 512.5
val:
  reward_score: 0.5
"""


def test_easyr1_console_lines_one_by_one():
    found = {}
    for line in EASYR1_STEP.splitlines():  # CloudWatch holds one event per line; regexes see one line
        found.update(extract("grpo", line))
    assert found == {"loss": -0.0123, "learning_rate": 1e-06, "kl_loss": 0.002, "eval_reward": 0.5}
    assert extract("grpo", "  lr_warmup_ratio: 0.0") == {}
    assert extract("grpo", "    mean: 0.42") == {}  # ambiguous leaf names are not taken for a metric


def test_easyr1_flat_json_line():
    line = '{"step": 3, "actor/pg_loss": -0.0123, "actor/lr": 1e-06, "val/reward_score": 0.5}'
    assert extract("dapo", line) == {"loss": -0.0123, "learning_rate": 1e-06, "eval_reward": 0.5}


LOG = """\
{"current_steps": 10, "total_steps": 375, "loss": 1.8123, "lr": 2.4e-05, "epoch": 0.08, "percentage": 2.67, "elapsed_time": "0:00:41", "remaining_time": "0:24:53"}
{"current_steps": 20, "total_steps": 375, "loss": 1.6, "lr": 4.8e-05, "epoch": 0.16, "percentage": 5.33, "elapsed_time": "0:01:22", "remaining_time": "0:24:10", "throughput": 812.4}
garbage that is not json
{"current_steps": 200, "total_steps": 375, "eval_loss": 1.1042, "epoch": 1.6, "percentage": 53.33, "elapsed_time": "0:13:20", "remaining_time": "0:11:40"}
{"current_steps": 200, "total_steps": 375, "loss": 1.05, "lr": 3e-05, "epoch": 1.6, "percentage": 53.33, "elapsed_time": "0:13:20", "remaining_time": "0:11:40"}
{"current_steps": 210, "total_steps": 375, "loss": 1.0"""


def test_parse_trainer_log():
    points = parse_trainer_log(LOG)
    assert [p["step"] for p in points] == [10, 20, 200]  # partial last line skipped
    assert points[0] == {"step": 10, "total_steps": 375, "loss": 1.8123, "lr": 2.4e-05, "epoch": 0.08,
                         "percentage": 2.67, "elapsed": 41, "remaining": 24 * 60 + 53}
    assert points[2]["eval_loss"] == 1.1042 and points[2]["loss"] == 1.05  # eval and train of one step merge
    assert progress(points) == {"step": 200, "total_steps": 375, "percentage": 53.33, "elapsed": 800,
                                "remaining": 700, "epoch": 1.6}


def test_resume_rewrites_steps_and_later_lines_win():
    text = (
        '{"current_steps": 5, "total_steps": 10, "loss": 2.0}\n'
        '{"current_steps": 6, "total_steps": 10, "loss": 1.9}\n'
        '{"current_steps": 6, "total_steps": 10, "loss": 1.7}\n'
    )
    assert [(p["step"], p["loss"]) for p in parse_trainer_log(text)] == [(5, 2.0), (6, 1.7)]


def test_parse_easyr1_experiment_log_flat_and_nested():
    text = (
        '{"step": 1, "actor/pg_loss": 0.5, "actor/lr": 1e-06, "critic/score/mean": 0.1}\n'
        '{"step": 2, "actor": {"pg_loss": 0.4, "lr": 1e-06}, "critic": {"score": {"mean": 0.3}}, "val": {"reward_score": 0.35}}\n'
    )
    assert parse_trainer_log(text) == [
        {"step": 1, "loss": 0.5, "lr": 1e-06, "reward": 0.1},
        {"step": 2, "loss": 0.4, "lr": 1e-06, "reward": 0.3, "eval_reward": 0.35},
    ]


def test_junk_is_ignored():
    assert parse_trainer_log("") == []
    assert parse_trainer_log('[1, 2]\n{"no_step": 1}\n{"current_steps": "x"}\n{"current_steps": -1}\n') == []
    # Non-finite numbers are dropped: they would make the API's JSON invalid.
    assert parse_trainer_log('{"current_steps": 3, "loss": NaN, "lr": Infinity, "epoch": 0.1}') == [{"step": 3, "epoch": 0.1}]


def test_progress_computes_percentage_when_missing():
    assert progress([{"step": 25, "total_steps": 100}])["percentage"] == 25.0
    assert progress([]) == {}


@pytest.mark.parametrize("text,seconds", [("0:00:41", 41), ("2:03:04", 7384), ("1 day, 0:00:01", 86401),
                                          ("3 days, 1:00:00", 262800), ("bad", None), (None, None), (12, 12)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds
