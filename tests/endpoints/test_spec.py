import pytest
from django.test import override_settings

from apps.endpoints.spec import DeploySpec, DeploySpecSerializer, ModelFacts

LLAMA_8B = ModelFacts(
    "s3://bucket/jobs/7/merged/", "meta-llama/Llama-3.1-8B-Instruct", parameters_b=8.0, context_length=131072,
    num_layers=32, hidden_size=4096, num_attention_heads=32, num_kv_heads=8,
)
QWEN_7B = ModelFacts(  # 28 attention heads: does not split over 8 GPUs
    "Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct", parameters_b=7.6, context_length=32768,
    num_layers=28, hidden_size=3584, num_attention_heads=28, num_kv_heads=4,
)
LLAMA_70B = ModelFacts("meta-llama/Llama-3.3-70B-Instruct", parameters_b=70.6, context_length=131072)


def validate(data, model=LLAMA_8B, **context):
    serializer = DeploySpecSerializer(data=data, context={"model": model, **context})
    valid = serializer.is_valid()
    return serializer, valid


def test_defaults_resolve_engine_tp_length_timeouts_and_ami():
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge"})
    assert valid, serializer.errors
    spec = serializer.spec
    assert spec.requested_engine == "auto" and spec.engine == "vllm"
    assert spec.tensor_parallel_size == 4  # every GPU of a g5.12xlarge
    assert spec.max_model_len == 12288  # capped below the model's 131072
    assert spec.container_startup_health_check_timeout == 900
    assert spec.inference_ami_version == "al2023-ami-sagemaker-inference-gpu-4-1"
    assert spec.engine_version == "0.30.0"
    assert serializer.fit_result.verdict == "ok"


def test_short_native_context_is_kept():
    small = ModelFacts("Qwen/Qwen2.5-0.5B-Instruct", parameters_b=0.5, context_length=4096)
    serializer, valid = validate({"instance_type": "ml.g5.2xlarge"}, model=small)
    assert valid, serializer.errors
    assert serializer.spec.max_model_len == 4096


def test_unknown_engine_is_a_field_error():
    serializer, valid = validate({"instance_type": "ml.g5.2xlarge", "engine": "tgi"})
    assert not valid
    assert "engine" in serializer.errors


def test_unknown_instance_type_lists_known_ones():
    serializer, valid = validate({"instance_type": "ml.m5.large"})
    assert not valid
    message = str(serializer.errors["instance_type"][0])
    assert "ml.m5.large" in message and "ml.g5.12xlarge" in message


@pytest.mark.parametrize(("tp", "fragment"), [(8, "use at most 4"), (3, "one of 1, 2, 4")])
def test_tensor_parallel_above_or_not_dividing_gpus(tp, fragment):
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "tensor_parallel_size": tp})
    assert not valid
    assert fragment in str(serializer.errors["tensor_parallel_size"][0])


def test_tensor_parallel_must_divide_attention_heads():
    serializer, valid = validate({"instance_type": "ml.g5.48xlarge", "engine": "vllm", "tensor_parallel_size": 8},
                                 model=QWEN_7B)
    assert not valid
    assert "28 attention heads" in str(serializer.errors["tensor_parallel_size"][0])


def test_auto_picks_lmi_when_heads_do_not_split_over_all_gpus():
    serializer, valid = validate({"instance_type": "ml.g5.48xlarge"}, model=QWEN_7B)
    assert valid, serializer.errors
    assert serializer.spec.engine == "lmi"
    assert serializer.spec.tensor_parallel_size == 4
    assert serializer.spec.container_startup_health_check_timeout == 1800
    assert any("model copies" in note for note in serializer.notes)


def test_auto_stays_on_vllm_when_lmi_cannot_serve_the_request():
    for extra in ({"quantization": "gptq"}, {"lora_adapters": [{"name": "a", "source": "s3://b/a/"}]}):
        serializer, valid = validate({"instance_type": "ml.g5.48xlarge", **extra}, model=QWEN_7B)
        assert valid, serializer.errors
        assert serializer.spec.engine == "vllm" and serializer.spec.tensor_parallel_size == 4


def test_explicit_engine_is_kept_and_sglang_when_asked():
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "engine": "sglang"})
    assert valid, serializer.errors
    assert serializer.spec.engine == "sglang" and serializer.spec.requested_engine == "sglang"


def test_model_too_large_for_instance_is_refused_on_instance_type():
    serializer, valid = validate({"instance_type": "ml.g5.2xlarge"}, model=LLAMA_70B)
    assert not valid
    assert "Choose a larger instance" in str(serializer.errors["instance_type"][0])
    assert serializer.fit_result.verdict == "refuse"


def test_context_too_long_for_kv_cache_is_refused_on_max_model_len():
    serializer, valid = validate({"instance_type": "ml.g5.2xlarge", "max_model_len": 131072})
    assert not valid
    assert "Lower the max model length" in str(serializer.errors["max_model_len"][0])


def test_max_model_len_above_native_context():
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "max_model_len": 200_000})
    assert not valid
    assert "131,072" in str(serializer.errors["max_model_len"][0])


@pytest.mark.parametrize("name", ["bad_name", "ends-with-", "-starts", "x" * 64, "dots.are.bad"])
def test_invalid_user_name(name):
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "name": name})
    assert not valid
    assert "name" in serializer.errors


def test_valid_user_name_and_taken_name():
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "name": "my-llama-1"})
    assert valid and serializer.spec.name == "my-llama-1"
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "name": "my-llama-1"},
                                 name_taken=lambda n: n == "my-llama-1")
    assert not valid
    assert "already exists" in str(serializer.errors["name"][0])


def test_autoscaling_min_above_max_and_count_outside_range():
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge",
                                  "autoscaling": {"min_instances": 3, "max_instances": 2}})
    assert not valid
    assert "max_instances" in serializer.errors["autoscaling"]
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "instance_count": 5,
                                  "autoscaling": {"min_instances": 1, "max_instances": 3}})
    assert not valid
    assert "instance_count" in serializer.errors
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "instance_count": 2,
                                  "autoscaling": {"min_instances": 1, "max_instances": 3,
                                                  "target_invocations_per_instance": 50}})
    assert valid, serializer.errors
    assert serializer.spec.autoscaling.max_instances == 3


def test_bfloat16_refused_on_t4_and_auto_becomes_float16():
    small = ModelFacts("Qwen/Qwen2.5-0.5B-Instruct", parameters_b=0.5, context_length=4096)
    serializer, valid = validate({"instance_type": "ml.g4dn.xlarge", "dtype": "bfloat16"}, model=small)
    assert not valid and "dtype" in serializer.errors
    serializer, valid = validate({"instance_type": "ml.g4dn.xlarge"}, model=small)
    assert valid, serializer.errors
    assert serializer.spec.dtype == "float16"


def test_engine_specific_options_are_refused_where_unsupported():
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "engine": "sglang",
                                  "limit_mm_per_prompt": {"image": 2}})
    assert not valid and "limit_mm_per_prompt" in serializer.errors
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "engine": "lmi",
                                  "lora_adapters": [{"name": "sql", "source": "s3://b/adapters/sql/"}]})
    assert not valid and "lora_adapters" in serializer.errors
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "limit_mm_per_prompt": {"smell": 1}})
    assert not valid and "limit_mm_per_prompt" in serializer.errors


def test_chat_template_limits():
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "chat_template": "{{ x }}\n{{ y }}"})
    assert not valid and "chat_template" in serializer.errors
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "chat_template": "é" * 600})
    assert not valid and "1024 bytes" in str(serializer.errors["chat_template"][0])


def test_adapters_on_dlc_limited_to_one_unless_custom_image():
    adapters = [{"name": "a", "source": "s3://b/a"}, {"name": "b", "source": "s3://b/b/"}]
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "engine": "vllm", "lora_adapters": adapters})
    assert not valid and "lora_adapters" in serializer.errors
    with override_settings(SERVING_IMAGE_VLLM="123.dkr.ecr.us-east-1.amazonaws.com/mh-vllm:0.31"):
        serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "engine": "vllm", "lora_adapters": adapters})
    assert valid, serializer.errors
    assert [a.source for a in serializer.spec.lora_adapters] == ["s3://b/a/", "s3://b/b/"]
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "engine": "vllm",
                                  "lora_adapters": [{"name": "a", "source": "not-s3"}]})
    assert not valid and "lora_adapters" in serializer.errors


def test_unknown_version_lists_supported_ones():
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "engine_version": "9.9.9"})
    assert not valid
    message = str(serializer.errors["engine_version"][0])
    assert "9.9.9" in message and "0.27.1" in message


def test_cuda13_image_needs_al2023_ami():
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge",
                                  "inference_ami_version": "al2-ami-sagemaker-inference-gpu-3-1"})
    assert not valid
    assert "al2023-ami-sagemaker-inference-gpu-4-1" in str(serializer.errors["inference_ami_version"][0])


def test_without_model_facts_fit_is_skipped_and_max_model_len_is_asked_not_guessed():
    serializer, valid = validate({"instance_type": "ml.g5.2xlarge"}, model=None)
    assert not valid and list(serializer.errors) == ["max_model_len"]
    serializer, valid = validate({"instance_type": "ml.g5.2xlarge", "max_model_len": 4096}, model=None)
    assert valid, serializer.errors
    assert serializer.fit_result is None
    assert serializer.spec.max_model_len == 4096


def test_spec_round_trips_through_dict():
    serializer, valid = validate({
        "instance_type": "ml.g5.12xlarge", "engine": "vllm", "prefix_caching": False, "tool_call_parser": "llama3_json",
        "lora_adapters": [{"name": "sql", "source": "s3://b/adapters/sql/"}], "max_lora_rank": 32,
        "autoscaling": {"min_instances": 1, "max_instances": 2}, "limit_mm_per_prompt": {"image": 2},
    })
    assert valid, serializer.errors
    spec = serializer.spec
    data = spec.to_dict()
    assert DeploySpec.from_dict(data) == spec
    assert data["lora_adapters"] == [{"name": "sql", "source": "s3://b/adapters/sql/"}]
    with pytest.raises(ValueError, match="Unknown DeploySpec fields"):
        DeploySpec.from_dict({**data, "surprise": 1})
    with pytest.raises(AttributeError):
        spec.engine = "sglang"


def test_hyperpod_target_uses_kubernetes_names_and_has_no_lmi():
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "name": "MyEndpoint"}, target="hyperpod")
    assert not valid and "lowercase" in str(serializer.errors["name"][0])
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "name": "a" * 45}, target="hyperpod",
                                 namespace="default", routing=True)
    assert not valid and "39" in " ".join(map(str, serializer.errors["name"]))
    serializer, valid = validate({"instance_type": "ml.g5.12xlarge", "engine": "lmi"}, target="hyperpod")
    assert not valid and "SageMaker only" in str(serializer.errors["engine"][0])
    serializer, valid = validate({"instance_type": "ml.g5.48xlarge"}, model=QWEN_7B, target="hyperpod")
    assert valid, serializer.errors
    assert serializer.spec.engine == "vllm" and serializer.spec.tensor_parallel_size == 4
