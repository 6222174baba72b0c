"""The TRL config of the GRPO family (apps/jobs/renderers/trl.py), part of every GRPO-family bundle and
so checked against its golden files by tests/jobs/test_render_golden.py, and the options the local
target cannot honour reported as field errors."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from apps.jobs.renderers.context import job_context
from apps.jobs.renderers import render_job_bundle
from apps.jobs.renderers.trl import TRL_YAML, config, local_unsupported, render_trl_yaml
from apps.jobs.spec import TrainingSpecSerializer
from tests.jobs.test_render_golden import CASES, CONTEXT, R1_TYPES, dataset_refs
from tests.conftest import grant_group_policy
from tests.jobs.test_spec import FORMAT_FOR, make_dataset

GOLDEN = Path(__file__).resolve().parents[2] / "jobs" / "golden"
TRL_CASES = sorted(case for case, (job_type, _) in CASES.items() if job_type in R1_TYPES)


def spec_for(user, job_type, **overrides):
    ds = make_dataset(user, FORMAT_FOR[job_type])
    data = {"job_type": job_type, "base_model": "Qwen/Qwen3-4B", "datasets": [ds.pk], "reward_function": "math",
            **overrides}
    if data.get("tracker_key_ref"):
        from apps.users.models import UserSecret

        UserSecret.objects.create(owner=user, name=data["tracker_key_ref"], kind=data["tracker"], value="k" * 40)
    if data["reward_function"] == "custom":
        grant_group_policy(user, allow_custom_reward_code=True)  # custom reward code is a group permission
    serializer = TrainingSpecSerializer(data=data, context={"user": user})
    assert serializer.is_valid(), serializer.errors
    return dataclasses.replace(serializer.spec, datasets=(7,))


@pytest.mark.django_db
@pytest.mark.parametrize("case", TRL_CASES)
def test_the_grpo_bundle_carries_the_trl_config(user, case):
    job_type, overrides = CASES[case]
    spec = spec_for(user, job_type, **overrides)
    ctx = job_context({**CONTEXT, "datasets": dataset_refs(job_type)})
    assert render_job_bundle(spec, ctx)[TRL_YAML] == render_trl_yaml(spec, ctx) == (GOLDEN / case / TRL_YAML).read_text()


@pytest.mark.django_db
def test_batch_sizes_map_to_trl_generation_batches(user):
    spec = spec_for(user, "grpo", rollout_n=4, rollout_batch_size=8, global_batch_size=4,
                    micro_batch_size_per_device_for_update=2)
    args = config(spec, job_context({**CONTEXT, "datasets": dataset_refs("grpo")}))["grpo"]
    # per device x accumulation = completions per update (global x n); x steps = completions per rollout
    assert args["per_device_train_batch_size"] * args["gradient_accumulation_steps"] == 4 * 4
    assert args["per_device_train_batch_size"] * args["steps_per_generation"] == 8 * 4
    assert args["num_generations"] == 4


@pytest.mark.django_db
def test_dapo_defaults_report_what_trl_lacks(user):
    errors = local_unsupported(spec_for(user, "dapo", eval_steps=None))
    assert set(errors) == {"online_filtering", "mini_rollout_batch_size"}
    assert local_unsupported(spec_for(user, "dapo", eval_steps=None, online_filtering=False,
                                      mini_rollout_batch_size=None)) == {}


@pytest.mark.django_db
def test_cispo_loss_validation_temperature_and_multi_node_are_field_errors(user):
    errors = local_unsupported(spec_for(user, "cispo", instance_count=2, instance_type="ml.g5.12xlarge"))
    assert {"loss_type", "instance_count", "val_temperature"} <= set(errors)
    assert "TRL 0.24" in errors["loss_type"]


@pytest.mark.django_db
def test_llamafactory_options_without_a_local_equivalent(user):
    ds = make_dataset(user, "alpaca")
    serializer = TrainingSpecSerializer(data={
        "job_type": "sft", "base_model": "s3://bucket/models/m/", "datasets": [ds.pk], "finetuning_method": "qlora",
        "quantization_bit": 4, "deepspeed_stage": 2, "booster": "liger", "instance_type": "ml.g5.12xlarge"},
        context={"user": user})
    assert serializer.is_valid(), serializer.errors
    errors = local_unsupported(serializer.spec)
    assert set(errors) == {"base_model", "finetuning_method", "deepspeed_stage", "booster"}
    plain = TrainingSpecSerializer(data={"job_type": "sft", "base_model": "Qwen/Qwen3-0.6B", "datasets": [ds.pk]},
                                   context={"user": user})
    assert plain.is_valid(), plain.errors
    assert local_unsupported(plain.spec) == {}


def test_golden_configs_name_only_grpo_config_fields(ml_env):
    """TRL lives in the ML environment: ask it for GRPOConfig's fields."""
    out = subprocess.run([str(ml_env), "-c", "import dataclasses, json, trl; "
                          "print(json.dumps([f.name for f in dataclasses.fields(trl.GRPOConfig)]))"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    fields = set(json.loads(out.strip().splitlines()[-1]))
    assert len(list(GOLDEN.glob("*/" + TRL_YAML))) == len(TRL_CASES)
    for path in GOLDEN.glob("*/" + TRL_YAML):
        assert set(yaml.safe_load(path.read_text())["grpo"]) <= fields, path
