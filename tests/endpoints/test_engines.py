"""The engine mapping through the real DLC entrypoints' rules of every generation, and its encoding rules.

tests/endpoints/dlc_entrypoints.py ports each entrypoint script of aws/deep-learning-containers (commits
cited there) into a test oracle. The properties checked: for every golden case, every generation builds
the same engine arguments as `engine_argv` (order aside: Gen1 and the SGLang scripts read the environment
in its own order), and those arguments are ones the engine's argument parser accepts (engine_vocab).
"""

import json
from pathlib import Path

import pytest

from apps.endpoints import engine_vocab, engines
from apps.endpoints.spec import DeploySpec, LoraAdapter, ModelFacts

from . import dlc_entrypoints as dlc

GOLDEN = Path(__file__).parent / "golden"


def groups(argv: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Flags with their value tokens, sorted: argument order does not matter to argparse here."""
    out, current = [], None
    for token in argv:
        if token.startswith("--"):
            current = [token, []]
            out.append(current)
        else:
            current[1].append(token)
    return sorted((flag, tuple(values)) for flag, values in out)


def golden_cases(engine):
    for path in sorted(GOLDEN.glob("*.json")):
        expected = json.loads(path.read_text())["expected"]
        if expected["engine"] == engine:
            yield pytest.param(expected, id=path.stem)


@pytest.mark.parametrize("expected", list(golden_cases("vllm")))
@pytest.mark.parametrize("generation", sorted(dlc.GENERATIONS["vllm"]))
def test_vllm_env_gives_engine_argv_on_every_generation(expected, generation):
    argv = dlc.engine_args("vllm", dlc.GENERATIONS["vllm"][generation](expected["sagemaker_environment"]))
    wanted = [t for t in expected["engine_argv"]]
    wanted[wanted.index("--port") + 1] = "8080"
    wanted = wanted[: wanted.index("--host")] + wanted[wanted.index("--port"):]  # the DLC does not pass --host
    if generation.endswith("al2023"):
        wanted += dlc.MIDDLEWARE
    assert groups(argv) == groups(wanted)
    assert engine_vocab.argv_problems("vllm", argv) == []


@pytest.mark.parametrize("expected", list(golden_cases("sglang")))
@pytest.mark.parametrize("generation", sorted(dlc.GENERATIONS["sglang"]))
def test_sglang_env_gives_engine_argv_on_old_and_current_entrypoint(expected, generation):
    argv = dlc.engine_args("sglang", dlc.GENERATIONS["sglang"][generation](expected["sagemaker_environment"]))
    assert groups(argv) == groups(expected["engine_argv"])
    assert engine_vocab.argv_problems("sglang", argv) == []


def test_the_oracle_reproduces_the_entrypoints_known_quirks():
    env = {"SM_VLLM_ENFORCE_EAGER": "true", "SM_VLLM_SERVED_MODEL_NAME": "False", "SM_VLLM_LORA_MODULES": '["a=x","b=y"]',
           "SM_VLLM_MODEL": "/opt/ml/model"}
    gen1 = dlc.engine_args("vllm", dlc.vllm_gen1(env))
    assert gen1[gen1.index("--enforce-eager") + 1] == "true"  # Gen1 passes booleans as values: argparse refuses
    assert "--served-model-name" not in dlc.engine_args("vllm", dlc.vllm_gen2(env))  # "False" drops the flag
    gen2 = dlc.engine_args("vllm", dlc.vllm_gen2(env))
    assert gen2[gen2.index("--lora-modules") + 1] == '["a=x","b=y"]'  # one token: vLLM refuses it
    gen3 = dlc.engine_args("vllm", dlc.vllm_gen3(env))
    assert gen3[gen3.index("--lora-modules") + 1:][:2] == ["a=x", "b=y"]
    assert dlc._bash_read("SM_X=abc=") == ("SM_X", "abc")  # bash drops a lone trailing '='
    assert dlc.engine_args("sglang", dlc.sglang_old({"SM_SGLANG_TP": "2"}))[:2] == ["--tp", "2"]


@pytest.mark.parametrize("expected", [*golden_cases("vllm"), *golden_cases("sglang")])
def test_byoc_parser_matches_engine_argv(expected):
    engine = expected["engine"]
    argv = engines.argv_from_dlc_env(engine, expected["sagemaker_environment"])
    wanted = expected["engine_argv"][: expected["engine_argv"].index("--host")]
    assert groups(argv) == groups(wanted)


def test_golden_environments_obey_the_encoding_rules():
    paths = sorted(GOLDEN.glob("*.json"))
    assert len(paths) >= 5
    switch_keys = {
        engines.dlc_env_key(engine, flag)
        for option in engines.OPTIONS if option.kind in (engines.SWITCH, engines.TRISTATE)
        for engine in ("vllm", "sglang")
        for flag in (option.flag(engine) if isinstance(option.flag(engine), tuple) else (option.flag(engine),))
        if flag
    }
    assert "SM_VLLM_NO_ENABLE_PREFIX_CACHING" in switch_keys
    for path in paths:
        env = json.loads(path.read_text())["expected"]["sagemaker_environment"]
        for key, value in env.items():
            assert isinstance(value, str)
            assert len(value.encode()) <= 1024 and "\n" not in value
            assert not key.endswith(("_PORT", "_HOST"))
            if key.startswith("SM_"):
                assert value.strip().lower() not in ("true", "false")  # Gen1 passes these as values
                if key in switch_keys:
                    assert value == ""
            if key.startswith("OPTION_") and key.startswith(("OPTION_ENABLE", "OPTION_TRUST", "OPTION_ENFORCE")):
                assert value in ("true", "false")
        # The served model name is always set.
        assert any(k.endswith("SERVED_MODEL_NAME") for k in env)


def spec(**overrides) -> DeploySpec:
    values = {"engine": "vllm", "instance_type": "ml.g5.12xlarge", "tensor_parallel_size": 4}
    return DeploySpec(**{**values, **overrides})


MODEL = ModelFacts("s3://b/jobs/1/merged", "org/My.Model_v2")


def test_every_option_has_a_rendering_and_flags_differ_between_engines():
    for option in engines.OPTIONS:
        assert option.vllm or option.sglang or option.lmi, option.key
    assert engines.OPTIONS_BY_KEY["max_model_len"].sglang == "--context-length"
    assert engines.OPTIONS_BY_KEY["tensor_parallel_size"].sglang == "--tp-size"
    assert engines.OPTIONS_BY_KEY["gpu_memory_utilization"].sglang == "--mem-fraction-static"
    # every vLLM flag maps to a distinct DLC variable, and back
    flags = [f for o in engines.OPTIONS for f in (o.vllm if isinstance(o.vllm, tuple) else (o.vllm,)) if f]
    keys = [engines.dlc_env_key("vllm", f) for f in flags]
    assert len(set(keys)) == len(keys)
    assert engines.argv_from_dlc_env("vllm", {k: "" for k in keys}) == sorted(flags, key=lambda f: engines.dlc_env_key("vllm", f))


def test_switches_on_are_empty_and_off_are_absent():
    env = engines.sagemaker_environment(spec(enforce_eager=True, trust_remote_code=False), MODEL)
    assert env["SM_VLLM_ENFORCE_EAGER"] == ""
    assert "SM_VLLM_TRUST_REMOTE_CODE" not in env
    assert "SM_VLLM_ENABLE_PREFIX_CACHING" not in env and "SM_VLLM_NO_ENABLE_PREFIX_CACHING" not in env
    lmi = engines.sagemaker_environment(spec(engine="lmi", enforce_eager=True, prefix_caching=False), MODEL)
    assert lmi["OPTION_ENFORCE_EAGER"] == "true" and lmi["OPTION_ENABLE_PREFIX_CACHING"] == "false"
    assert "OPTION_TRUST_REMOTE_CODE" not in lmi
    assert "OPTION_DTYPE" not in lmi  # auto: LMI's vLLM backend uses the model's dtype
    assert engines.lmi_environment(spec(engine="lmi", dtype="float16"), MODEL)["OPTION_DTYPE"] == "fp16"
    assert all(isinstance(v, str) for v in lmi.values())


def test_sglang_always_enables_metrics_and_vllm_never_gets_the_flag():
    assert engines.sagemaker_environment(spec(engine="sglang"), MODEL)["SM_SGLANG_ENABLE_METRICS"] == ""
    assert "--enable-metrics" not in engines.engine_argv(spec(), MODEL, 8000)


def test_served_model_name_is_short_and_safe():
    assert engines.served_model_name("meta-llama/Llama-3.1-8B-Instruct") == "Llama-3.1-8B-Instruct"
    assert engines.served_model_name("s3://bucket/jobs/42/merged/") == "merged"
    assert engines.served_model_name("weird name/with spaces & ünïcode") == "with-spaces-n-code"
    assert engines.served_model_name("///") == "model"
    assert len(engines.served_model_name("x" * 300)) == 64
    assert engines.sagemaker_environment(spec(), MODEL)["SM_VLLM_SERVED_MODEL_NAME"] == "My.Model_v2"


def test_served_model_name_is_idempotent():
    # the platform stores the served name and renders from it again: the name must not change
    for raw in ("meta-llama/Llama-3.1-8B-Instruct", "s3://b/x y/", "-.weird_/._name-", "x" * 300, "日本"):
        once = engines.served_model_name(raw)
        assert engines.served_model_name(once) == once


def test_kv_cache_offload_drops_prefix_caching_flags():
    assert "--enable-prefix-caching" in engines.engine_argv(spec(prefix_caching=True), MODEL, 8000)
    argv = engines.engine_argv(spec(prefix_caching=True), MODEL, 8000, kv_cache_offload=True)
    assert "--enable-prefix-caching" not in argv and "--no-enable-prefix-caching" not in argv


def test_values_over_1024_bytes_or_with_newlines_are_refused():
    with pytest.raises(engines.EngineConfigError, match="1024"):
        engines.sagemaker_environment(spec(chat_template="x" * 1025), MODEL)
    with pytest.raises(engines.EngineConfigError, match="one line"):
        engines.sagemaker_environment(spec(chat_template="a\nb"), MODEL)


def test_several_adapters_become_a_json_list_that_gen3_and_byoc_split():
    adapters = (LoraAdapter("a", "s3://b/a/"), LoraAdapter("b", "s3://b/b/"))
    env = engines.sagemaker_environment(spec(lora_adapters=adapters), MODEL)
    assert json.loads(env["SM_VLLM_LORA_MODULES"]) == [
        "a=/opt/ml/additional-model-data-sources/a", "b=/opt/ml/additional-model-data-sources/b"]
    gen3 = dlc.engine_args("vllm", dlc.vllm_gen3(env))
    assert gen3[gen3.index("--lora-modules") + 1: gen3.index("--lora-modules") + 3] == [
        "a=/opt/ml/additional-model-data-sources/a", "b=/opt/ml/additional-model-data-sources/b"]
    byoc = engines.argv_from_dlc_env("vllm", env)
    assert byoc[byoc.index("--lora-modules") + 2] == "b=/opt/ml/additional-model-data-sources/b"
    # argv for HyperPod / local takes the adapters from wherever they are mounted there
    argv = engines.engine_argv(spec(lora_adapters=adapters), MODEL, 8000, adapter_root="/data/adapters")
    assert argv[argv.index("--lora-modules") + 1:argv.index("--lora-modules") + 3] == ["a=/data/adapters/a", "b=/data/adapters/b"]


def test_engine_argv_model_path_and_port_and_lmi_has_none():
    argv = engines.engine_argv(spec(), ModelFacts("org/repo"), 9000, model_path="/models/x")
    assert argv[:2] == ["--model", "/models/x"] and argv[-4:] == ["--host", "0.0.0.0", "--port", "9000"]
    assert engines.engine_argv(spec(), ModelFacts("org/repo"), 8000)[:2] == ["--model", "org/repo"]
    with pytest.raises(engines.EngineConfigError):
        engines.engine_argv(spec(engine="lmi"), MODEL, 8000)
    with pytest.raises(engines.EngineConfigError):
        engines.engine_command("lmi")


def test_the_rendered_environment_never_holds_a_token():
    assert "HF_TOKEN" not in engines.sagemaker_environment(spec(), MODEL)
    assert "HF_TOKEN" not in engines.sagemaker_environment(spec(engine="lmi"), MODEL)


def test_model_data_source_is_an_uncompressed_prefix():
    assert engines.model_data_source("s3://b/p") == {
        "S3DataSource": {"S3Uri": "s3://b/p/", "S3DataType": "S3Prefix", "CompressionType": "None"}}
    with pytest.raises(engines.EngineConfigError):
        engines.model_data_source("org/repo")


def test_byoc_parser_ignores_port_host_and_false():
    env = {"SM_VLLM_PORT": "9000", "SM_VLLM_HOST": "x", "SM_VLLM_ENFORCE_EAGER": "false",
           "SM_VLLM_TRUST_REMOTE_CODE": " TRUE ", "SM_VLLM_MODEL": "/opt/ml/model", "OTHER": "1"}
    assert engines.argv_from_dlc_env("vllm", env) == ["--model", "/opt/ml/model", "--trust-remote-code"]


def test_engines_module_has_no_django_or_third_party_imports():
    source = Path(engines.__file__).read_text()
    imports = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"json", "re", "dataclasses", "__future__"}
