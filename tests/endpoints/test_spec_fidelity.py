"""Issue #13's serving examples, each a regression test, through the one deploy validator (`validate_deploy`):
what the vLLM / SGLang engines or the DLC entrypoints would refuse or misread is a field error first."""

import json

import pytest
from django.test import override_settings

from apps.catalog.models import BaseModel
from apps.endpoints import engines
from apps.endpoints.model_config import ConfigRead, facts_from_config, read_model_config
from apps.endpoints.serializers import validate_deploy
from apps.endpoints.spec import DeploySpec, ModelFacts

from . import dlc_entrypoints as dlc

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("region")]


@pytest.fixture
def region():
    with override_settings(AWS_REGION="us-east-1"):
        yield


def catalog(key, **extra):
    return {"source": "catalog", "base_model": key, "instance_type": "ml.g5.12xlarge", **extra}


@pytest.mark.parametrize("engine,parser,ok", [
    ("vllm", "llama3_json", True), ("vllm", "hermes", True), ("vllm", "qwen25", False),
    ("sglang", "qwen25", True), ("sglang", "llama3", True), ("sglang", "llama3_json", False),
    ("lmi", "hermes", True), ("lmi", "qwen25", False),
])
def test_tool_call_parsers_are_checked_per_engine(user, engine, parser, ok):
    result = validate_deploy(catalog("qwen2-5-7b-instruct", engine=engine, tool_call_parser=parser), user)
    assert result.ok is ok, result.errors
    if not ok:
        assert list(result.errors) == ["tool_call_parser"] and engine in result.errors["tool_call_parser"][0]


@pytest.mark.parametrize("engine,parser,ok", [("vllm", "deepseek_r1", True), ("sglang", "deepseek-r1", True),
                                              ("sglang", "deepseek_r1", False), ("vllm", "qwen3", True),
                                              ("lmi", "qwen3", False)])
def test_reasoning_parsers_are_checked_per_engine_and_rendered(user, engine, parser, ok):
    result = validate_deploy(catalog("qwen3-8b", engine=engine, reasoning_parser=parser), user)
    assert result.ok is ok, result.errors
    if ok:
        env = engines.sagemaker_environment(result.value.spec, ModelFacts("s3://b/m/", "qwen3"))
        assert env[engines.DLC_ENV_PREFIX[engine] + "REASONING_PARSER"] == parser


@pytest.mark.parametrize("word", ["true", "FALSE", "True"])
def test_a_served_name_is_never_a_boolean_word(user, word):
    name = engines.served_model_name(f"my-org/{word}")
    assert name.lower() not in ("true", "false")
    result = validate_deploy({"source": "hf", "model_uri": f"my-org/{word}", "instance_type": "ml.g5.2xlarge",
                              "max_model_len": 4096, "parameters_b": 1.0}, user)
    assert result.ok, result.errors
    assert result.value.served_model_name == name
    env = engines.sagemaker_environment(result.value.spec, ModelFacts(f"my-org/{word}", f"my-org/{word}"))
    for generation in ("gen2", "gen3"):
        argv = dlc.engine_args("vllm", dlc.GENERATIONS["vllm"][generation](env))
        assert argv[argv.index("--served-model-name") + 1] == name


def test_catalog_models_carry_heads_so_default_tp_respects_them(user):
    # Qwen2.5-7B: 28 attention heads, 4 KV heads; ml.g5.48xlarge has 8 GPUs, and vLLM refuses TP 8.
    result = validate_deploy(catalog("qwen2-5-7b-instruct", instance_type="ml.g5.48xlarge", engine="vllm"), user)
    assert result.ok, result.errors
    assert result.value.spec.tensor_parallel_size == 4
    refused = validate_deploy(catalog("qwen2-5-7b-instruct", instance_type="ml.g5.48xlarge", engine="vllm",
                                      tensor_parallel_size=8), user)
    assert list(refused.errors) == ["tensor_parallel_size"]


def test_every_curated_model_has_its_config_facts():
    from apps.catalog.curation import curated_models

    for entry in curated_models():
        facts = ModelFacts.from_base_model(BaseModel(key=entry["key"], repo_id=entry["repo_id"], parameters_b=1.0))
        assert facts.num_layers and facts.num_attention_heads and facts.num_kv_heads and facts.context_length, entry["key"]
        assert facts.num_attention_heads % facts.num_kv_heads == 0, entry["key"]
        assert facts.hidden_size and (facts.head_dim or facts.hidden_size % facts.num_attention_heads == 0), entry["key"]


def test_max_model_len_comes_from_the_models_own_config_not_a_guess(user, monkeypatch):
    monkeypatch.setattr("apps.endpoints.serializers.read_model_config",
                        lambda uri: ConfigRead(facts={"context_length": 4096, "num_layers": 24,
                                                      "num_attention_heads": 16, "num_kv_heads": 16,
                                                      "hidden_size": 2048}))
    s3 = {"source": "s3", "model_uri": "s3://my-models/small/", "instance_type": "ml.g5.2xlarge", "parameters_b": 1.0}
    result = validate_deploy(s3, user)
    assert result.ok, result.errors
    assert result.value.spec.max_model_len == 4096  # not 12288
    assert list(validate_deploy({**s3, "max_model_len": 8192}, user).errors) == ["max_model_len"]
    monkeypatch.setattr("apps.endpoints.serializers.read_model_config",
                        lambda uri: ConfigRead(problem=f"{uri}/config.json does not exist"))
    result = validate_deploy(s3, user)
    assert list(result.errors) == ["max_model_len"] and "config.json does not exist" in result.errors["max_model_len"][0]
    assert validate_deploy({**s3, "max_model_len": 2048}, user).ok


def test_config_json_is_read_from_a_model_folder(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({
        "architectures": ["Gemma3ForConditionalGeneration"],
        "text_config": {"max_position_embeddings": 131072, "num_hidden_layers": 34, "hidden_size": 2560,
                        "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256}}))
    read = read_model_config(folder.as_uri() + "/")
    assert read.facts == {"context_length": 131072, "num_layers": 34, "hidden_size": 2560, "num_attention_heads": 8,
                          "num_kv_heads": 4, "head_dim": 256}
    assert "does not exist" in read_model_config((tmp_path / "nothing").as_uri()).problem
    assert "Hugging Face" in read_model_config("org/model").problem
    assert facts_from_config({"seq_length": 131072, "num_layers": 40, "multi_query_group_num": 2,
                              "num_attention_heads": 32, "hidden_size": 4096})["num_kv_heads"] == 2


def test_gated_models_need_the_owners_token_and_the_spec_names_it(user):
    from apps.users.models import UserSecret

    result = validate_deploy(catalog("llama-3-1-8b-instruct"), user)
    assert list(result.errors) == ["hf_token_ref"]
    assert list(validate_deploy(catalog("llama-3-1-8b-instruct", hf_token_ref="nope"), user).errors) == ["hf_token_ref"]
    UserSecret.objects.create(owner=user, name="hf-main", kind="hf_token", value="hf_" + "x" * 30)
    result = validate_deploy(catalog("llama-3-1-8b-instruct", hf_token_ref="hf-main"), user)
    assert result.ok, result.errors
    spec = result.value.spec
    assert spec.needs_hf_token and spec.hf_token_ref == "hf-main"
    assert DeploySpec.from_dict(spec.to_dict()) == spec
    assert "x" * 30 not in json.dumps(spec.to_dict())  # the name travels, never the token
    assert validate_deploy(catalog("qwen2-5-7b-instruct"), user).value.spec.needs_hf_token is False


def test_one_shape_unknown_fields_and_strict_types(user):
    result = validate_deploy(catalog("qwen2-5-7b-instruct", max_model_length=4096, instance_count=True,
                                     enforce_eager="yes"), user)
    assert not result.ok and result.value is None
    assert set(result.errors) == {"max_model_length", "instance_count", "enforce_eager"}
    assert validate_deploy(catalog("qwen2-5-7b-instruct"), user).or_raise().spec.engine in ("vllm", "lmi")


@pytest.mark.parametrize("repo", ["org/a--b", "org/a..b", "org/model.git", "org/-x"])
def test_repo_ids_the_hub_refuses_are_refused(user, repo):
    result = validate_deploy({"source": "hf", "model_uri": repo, "instance_type": "ml.g5.2xlarge"}, user)
    assert "model_uri" in result.errors


def test_parsers_for_another_engine_version_are_accepted_with_a_note(user):
    same = validate_deploy(catalog("qwen2-5-7b-instruct", engine="vllm", tool_call_parser="hermes"), user)
    assert same.ok and not any("Parser names" in n for n in same.notes)
    other = validate_deploy(catalog("qwen2-5-7b-instruct", engine="vllm", engine_version="0.27.1",
                                    tool_call_parser="hermes"), user)
    assert other.ok, other.errors
    assert any("0.27.1 may name them differently" in n for n in other.notes)
