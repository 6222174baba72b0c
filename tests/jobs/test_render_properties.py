"""Property tests: every training spec ModelHub accepts renders a config its tool accepts.

Specs are drawn from the whole accepted space (tests/jobs/spec_space.py) and validated by the real
TrainingSpecSerializer; each accepted one is rendered, and its LLaMA-Factory YAML is held against the
recorded 0.9.4 argument names and enums, its EasyR1 config against the b44b311 dataclass tree and
start-up checks. (tests/jobs/test_render_llamafactory_parser.py runs the real LLaMA-Factory parser too.)
"""

import json

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings

from apps.jobs.renderers import render_job_bundle
from apps.jobs.renderers.easyr1_schema import ENUMS as R1_ENUMS
from apps.jobs.renderers.easyr1_schema import REQUIRED, flatten, leaf_type, startup_problems
from apps.jobs.spec import TrainingSpecSerializer

from .spec_space import any_spec
from .test_render_golden import CONTEXT, check_llamafactory_train, dataset_refs
from .test_spec import FORMAT_FOR, make_dataset
from tests.conftest import grant_group_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(user):
    from apps.users.models import UserSecret

    for kind in ("wandb", "swanlab"):
        UserSecret.objects.create(owner=user, name=f"{kind}-key", kind=kind, value="k" * 40)
    grant_group_policy(user, allow_custom_reward_code=True)
    datasets = {job_type: make_dataset(user, fmt, name=f"ds-{job_type}").pk for job_type, fmt in FORMAT_FOR.items()}
    return user, datasets


def accepted_spec(world, data):
    user, datasets = world
    request = {**data, "base_model": "Qwen/Qwen3-4B", "datasets": [datasets[data["job_type"]]]}
    serializer = TrainingSpecSerializer(data=request, context={"user": user})
    ok = serializer.is_valid()
    assume(ok)
    return serializer.spec


def check_easyr1(config: dict, spec):
    flat = flatten(config)
    for key, value in flat.items():
        types = leaf_type(key)
        assert types is not None, f"EasyR1 has no config key {key}"
        assert isinstance(value, types) or value is None and type(None) in types, f"{key}={value!r}"
        assert not (isinstance(value, bool) and bool not in types), f"{key} is not a boolean"
        if key in R1_ENUMS:
            assert value in R1_ENUMS[key], f"{key}={value!r}"
    assert REQUIRED <= set(flat)
    assert startup_problems(config) == [], (startup_problems(config), spec)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=any_spec())
def test_every_accepted_spec_renders_what_its_tool_accepts(world, data):
    spec = accepted_spec(world, data)
    files = render_job_bundle(spec, {**CONTEXT, "datasets": dataset_refs(spec.job_type)})
    manifest = json.loads(files["job.json"])
    assert manifest
    if spec.tool == "llamafactory":
        config = yaml.safe_load(files["train.yaml"])
        check_llamafactory_train(config, spec.job_type)
        if spec.job_type == "ppo" and config["report_to"] != "none":
            assert config["report_to"] in ("wandb", "tensorboard")  # "PPO only accepts wandb or tensorboard logger."
    else:
        check_easyr1(yaml.safe_load(files["easyr1.yaml"]), spec)
