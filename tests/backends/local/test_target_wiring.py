"""How the apps pick and check the local target without naming it: the default target of new jobs
and deploys, its defaults for fields a request leaves out, and its refusals as field errors
(settings.TRAINING_TARGET_RULES -> apps/jobs/target_rules.py). No ML environment needed."""

from __future__ import annotations

import pytest

from apps.backends.base import Readiness
from apps.core import readiness
from apps.jobs import target_rules
from apps.jobs.serializers import validate_job
from tests.jobs.test_spec import make_dataset

pytestmark = pytest.mark.django_db


def request(user, job_type, fmt="prompt_answer", **fields):
    ds = make_dataset(user, fmt)
    data = {"name": "j", "job_type": job_type, "base_model": "Qwen/Qwen3-0.6B", "datasets": [ds.pk], **fields}
    if job_type in ("grpo", "dapo", "gspo", "cispo"):
        data.setdefault("reward_function", "math")
    return data


@pytest.mark.parametrize("job_type", ["grpo", "dapo", "gspo"])
def test_every_default_of_the_grpo_family_is_valid_on_the_local_target(user, job_type):
    result = validate_job(request(user, job_type), user, target="local")
    assert result.ok, result.errors
    spec = result.value.spec
    assert spec.online_filtering is False and spec.mini_rollout_batch_size is None
    assert spec.val_temperature == spec.rollout_temperature


def test_the_cloud_target_keeps_the_spec_defaults(user):
    spec = validate_job(request(user, "dapo"), user, target="sagemaker").value.spec
    assert spec.online_filtering is True and spec.mini_rollout_batch_size == 128
    assert spec.val_temperature == 0.6 != spec.rollout_temperature


def test_what_the_user_chose_is_kept_and_refused_as_field_errors(user):
    result = validate_job(request(user, "dapo", online_filtering=True, rollout_temperature=0.9), user, target="local")
    assert not result.ok
    assert "online filtering" in result.errors["online_filtering"][0]
    chosen = validate_job(request(user, "grpo", rollout_temperature=0.8), user, target="local").value.spec
    assert chosen.val_temperature == 0.8  # validation follows the rollout temperature the user set
    lf = validate_job(request(user, "sft", "alpaca", deepspeed_stage=2, instance_type="ml.g5.12xlarge"),
                      user, target="local")
    assert "DeepSpeed" in lf.errors["deepspeed_stage"][0]
    assert validate_job(request(user, "sft", "alpaca", deepspeed_stage=2, instance_type="ml.g5.12xlarge"),
                        user, target="sagemaker").ok
    cispo = validate_job(request(user, "cispo"), user, target="local")
    assert "TRL 0.25" in cispo.errors["loss_type"][0]


def test_the_local_help_says_trl_runs_the_grpo_family():
    text = target_rules.help_text("local")
    assert "TRL" in text and "num_generations" in text
    assert target_rules.help_text("sagemaker") == ""


class Answers:
    def __init__(self, usable):
        self.usable = usable

    def __call__(self, name):
        return type("B", (), {"label": name, "readiness": lambda _self: Readiness(self.usable[name])})()


def test_with_no_aws_configuration_new_work_goes_to_the_local_target(settings, monkeypatch):
    settings.COMPUTE_BACKEND = ""
    monkeypatch.setattr(readiness, "targets", lambda: readiness.compute())
    answers = Answers({"sagemaker": False, "local": True, "hyperpod": False})
    monkeypatch.setattr(readiness, "ROLES", (("training", "TRAINING_BACKENDS", answers),
                                             ("serving", "SERVING_BACKENDS", answers)))
    assert readiness.default_target("training") == readiness.default_target("serving") == "local"
    answers.usable["sagemaker"] = True  # AWS configured: the cloud target comes first
    assert readiness.default_target("training") == "sagemaker"
    answers.usable.update(sagemaker=False, local=False)  # nothing usable: the target on this machine,
    assert readiness.default_target("training") == "local"  # whose readiness says what to install
    settings.COMPUTE_BACKEND = "sagemaker"
    assert readiness.default_target("serving") == "sagemaker"
