"""Property tests: every deploy spec ModelHub accepts starts the engine it names, on every DLC generation.

Specs are drawn across the accepted space (engines, instances, catalog models with their config.json
facts, every option) and validated by the real DeploySpecSerializer and its checks. Each accepted spec's
SageMaker environment is run through the ported entrypoint of every vLLM / SGLang DLC generation
(tests/endpoints/dlc_entrypoints.py); the argv must be the one `engine_argv` gives and one the engine's
argument vocabulary accepts (apps/endpoints/engine_vocab.py).
"""

import re

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from apps.catalog.curation import curated_models
from apps.catalog.models import BaseModel
from apps.endpoints import engine_vocab, engines
from apps.endpoints.spec import DTYPES, MAX_LORA_RANKS, QUANTIZATIONS, DeploySpecSerializer, ModelFacts

from . import dlc_entrypoints as dlc
from .test_engines import groups

INSTANCES = ("ml.g5.2xlarge", "ml.g5.12xlarge", "ml.g5.48xlarge", "ml.g6e.12xlarge", "ml.p4d.24xlarge",
             "ml.g4dn.12xlarge", "ml.g6.12xlarge")
CATALOG = [e for e in curated_models() if e["parameters_b"] <= 35]
ALL_TOOL_PARSERS = sorted(set().union(*engine_vocab.TOOL_CALL_PARSERS.values()))
ALL_REASONING_PARSERS = sorted(set().union(*engine_vocab.REASONING_PARSERS.values()))
SAGEMAKER_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


@st.composite
def model(draw):
    entry = draw(st.sampled_from(CATALOG))
    base = BaseModel(key=entry["key"], repo_id=entry["repo_id"], parameters_b=entry["parameters_b"])
    name = draw(st.sampled_from([entry["repo_id"], "mhjob-7-support-bot"]) | st.text(min_size=1, max_size=40))
    return ModelFacts.from_base_model(base, source_uri=f"s3://models-bucket/{entry['key']}/", name=name)


@st.composite
def request(draw, facts):
    engine = draw(st.sampled_from(["auto", "vllm", "sglang", "lmi"]))
    data = {
        "engine": engine, "instance_type": draw(st.sampled_from(INSTANCES)),
        "max_num_seqs": draw(st.sampled_from([1, 16, 256])),
        "gpu_memory_utilization": draw(st.sampled_from([0.5, 0.85, 0.9])),
        "dtype": draw(st.sampled_from(DTYPES)), "quantization": draw(st.sampled_from(QUANTIZATIONS)),
        "prefix_caching": draw(st.sampled_from([None, True, False])), "enforce_eager": draw(st.booleans()),
        "trust_remote_code": draw(st.booleans()),
        "chat_template": draw(st.sampled_from(["", "/opt/ml/model/template.jinja", "chatml"])),
        "tool_call_parser": draw(st.sampled_from([""] * 3 + ALL_TOOL_PARSERS)),
        "reasoning_parser": draw(st.sampled_from([""] * 3 + ALL_REASONING_PARSERS)),
    }
    tp = draw(st.sampled_from([None, None, 1, 2, 4, 8]))
    if tp:
        data["tensor_parallel_size"] = tp
    if draw(st.booleans()):
        data["max_model_len"] = draw(st.integers(256, facts.context_length))
    if draw(st.booleans()):
        data["limit_mm_per_prompt"] = {"image": draw(st.integers(0, 4))}
    if draw(st.booleans()):
        data["lora_adapters"] = [{"name": "adapter-1", "source": "s3://models-bucket/adapters/a1/"}]
        data["max_lora_rank"] = draw(st.sampled_from([None, *MAX_LORA_RANKS]))
    return data


@st.composite
def accepted(draw):
    facts = draw(model())
    data = draw(request(facts))
    serializer = DeploySpecSerializer(data=data, context={"model": facts, "region": "us-east-1"})
    ok = serializer.is_valid()
    assume(ok)
    return serializer.spec, facts


@pytest.fixture(autouse=True)
def region():
    with override_settings(AWS_REGION="us-east-1"):
        yield


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(case=accepted())
def test_every_accepted_deploy_spec_starts_on_every_dlc_generation(case):
    spec, facts = case
    env = engines.sagemaker_environment(spec, facts)
    for key, value in env.items():
        assert len(value.encode()) <= 1024 and "\n" not in value, key
        if key.startswith("SM_"):
            assert value.strip().lower() not in ("true", "false"), (key, value)  # Gen1 would pass it as a value
    served = env.get("SM_VLLM_SERVED_MODEL_NAME") or env.get("SM_SGLANG_SERVED_MODEL_NAME") or \
        env.get("OPTION_SERVED_MODEL_NAME")
    assert SAGEMAKER_NAME.fullmatch(served) and served.lower() not in ("true", "false")
    if spec.engine == "lmi":
        assert all(k.startswith(("OPTION_", "HF_")) for k in env)
        return
    wanted = engines.engine_argv(spec, facts, engines.DEFAULT_ENGINE_PORTS[spec.engine])
    assert engine_vocab.argv_problems(spec.engine, wanted) == []
    if spec.engine == "vllm":
        wanted[wanted.index("--port") + 1] = "8080"
        wanted = wanted[: wanted.index("--host")] + wanted[wanted.index("--port"):]
    for generation, entrypoint in dlc.GENERATIONS[spec.engine].items():
        argv = dlc.engine_args(spec.engine, entrypoint(env))
        assert engine_vocab.argv_problems(spec.engine, argv) == [], generation
        extra = dlc.MIDDLEWARE if generation.endswith("al2023") else []
        assert groups(argv) == groups(wanted + extra), generation


@settings(max_examples=500, deadline=None)
@given(name=st.text(min_size=0, max_size=120))
def test_served_names_are_safe_for_every_model_name(name):
    served = engines.served_model_name(name)
    assert SAGEMAKER_NAME.fullmatch(served)
    assert served.strip().lower() not in ("true", "false")
