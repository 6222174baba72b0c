"""Golden files: the exact SageMaker environment and engine arguments for representative deploy specs.

Each tests/endpoints/golden/<case>.json holds the form input, the model facts, and the expected
renderings. Regenerate after a deliberate change with `UPDATE_GOLDEN=1 pytest tests/endpoints/test_engines_golden.py`
and review the diff: these files are the contract with the containers.
"""

import json
import os
from pathlib import Path

import pytest
from django.test import override_settings

from apps.endpoints import engines
from apps.endpoints.spec import DeploySpecSerializer, ModelFacts

GOLDEN = Path(__file__).parent / "golden"

CASES = {
    # vLLM DLC, fine-tuned model from S3, tool calls, prefix caching, eager mode, template file.
    "vllm_s3_llama8b_tools": {
        "model": {"source_uri": "s3://mh-bucket/jobs/42/merged", "name": "meta-llama/Llama-3.1-8B-Instruct",
                  "parameters_b": 8.0, "context_length": 131072, "num_layers": 32, "hidden_size": 4096,
                  "num_attention_heads": 32, "num_kv_heads": 8},
        "data": {"engine": "vllm", "instance_type": "ml.g5.12xlarge", "max_model_len": 8192, "max_num_seqs": 64,
                 "gpu_memory_utilization": 0.92, "prefix_caching": True, "enforce_eager": True,
                 "tool_call_parser": "llama3_json", "chat_template": "/opt/ml/model/tool_chat_template.jinja"},
    },
    # vLLM, Hugging Face multimodal model, one LoRA adapter, prefix caching off, remote code.
    "vllm_hf_qwen_vl_lora": {
        "model": {"source_uri": "Qwen/Qwen2.5-VL-7B-Instruct", "name": "Qwen/Qwen2.5-VL-7B-Instruct",
                  "parameters_b": 8.3, "context_length": 128000, "num_layers": 28, "hidden_size": 3584,
                  "num_attention_heads": 28, "num_kv_heads": 4},
        "data": {"engine": "vllm", "instance_type": "ml.g6e.xlarge", "max_model_len": 16384,
                 "limit_mm_per_prompt": {"video": 0, "image": 4}, "prefix_caching": False,
                 "trust_remote_code": True, "max_lora_rank": 64,
                 "lora_adapters": [{"name": "receipts", "source": "s3://mh-bucket/jobs/43/adapter"}]},
    },
    # SGLang on a T4 (float16), tool parser, radix cache off, CUDA graphs off.
    "sglang_qwen05b_t4": {
        "model": {"source_uri": "s3://mh-bucket/jobs/44/merged/", "name": "mhjob-44-qwen-support-bot",
                  "parameters_b": 0.5, "context_length": 32768, "num_layers": 24, "hidden_size": 896,
                  "num_attention_heads": 14, "num_kv_heads": 2},
        "data": {"engine": "sglang", "instance_type": "ml.g4dn.xlarge", "tool_call_parser": "qwen25",
                 "prefix_caching": False, "enforce_eager": True, "gpu_memory_utilization": 0.85},
    },
    # SGLang with tensor parallelism over 4 GPUs and one adapter.
    "sglang_llama8b_tp4_lora": {
        "model": {"source_uri": "s3://mh-bucket/jobs/45/base/", "name": "meta-llama/Llama-3.1-8B-Instruct",
                  "parameters_b": 8.0, "context_length": 131072, "num_layers": 32, "hidden_size": 4096,
                  "num_attention_heads": 32, "num_kv_heads": 8},
        "data": {"engine": "sglang", "instance_type": "ml.g6.12xlarge", "max_model_len": 32768,
                 "lora_adapters": [{"name": "sql", "source": "s3://mh-bucket/jobs/46/adapter/"}]},
    },
    # SGLang with a reasoning parser and its own tool-call parser name (qwen25, not vLLM's hermes).
    "sglang_qwen3_reasoning_tools": {
        "model": {"source_uri": "s3://mh-bucket/jobs/48/merged/", "name": "Qwen/Qwen3-8B",
                  "parameters_b": 8.2, "context_length": 40960, "num_layers": 36, "hidden_size": 4096,
                  "num_attention_heads": 32, "num_kv_heads": 8, "head_dim": 128},
        "data": {"engine": "sglang", "instance_type": "ml.g6e.xlarge", "reasoning_parser": "qwen3",
                 "tool_call_parser": "qwen25", "max_model_len": 32768},
    },
    # auto → LMI: 28 attention heads do not split over 8 GPUs, so LMI runs two 4-GPU copies.
    "lmi_auto_qwen7b_g5_48xl": {
        "model": {"source_uri": "Qwen/Qwen2.5-7B-Instruct", "name": "Qwen/Qwen2.5-7B-Instruct",
                  "parameters_b": 7.6, "context_length": 32768, "num_layers": 28, "hidden_size": 3584,
                  "num_attention_heads": 28, "num_kv_heads": 4},
        "data": {"instance_type": "ml.g5.48xlarge", "prefix_caching": True, "trust_remote_code": True,
                 "tool_call_parser": "hermes", "limit_mm_per_prompt": {"image": 2}, "quantization": "fp8"},
    },
    # LMI asked for explicitly on T4s (float16), a fine-tuned model from S3 with its own template file.
    "lmi_s3_mistral7b_t4_fp16": {
        "model": {"source_uri": "s3://mh-bucket/jobs/47/merged/", "name": "mhjob-47-mistral-summaries",
                  "parameters_b": 7.2, "context_length": 32768, "num_layers": 32, "hidden_size": 4096,
                  "num_attention_heads": 32, "num_kv_heads": 8},
        "data": {"engine": "lmi", "instance_type": "ml.g4dn.12xlarge", "max_model_len": 4096, "max_num_seqs": 32,
                 "enforce_eager": True, "chat_template": "/opt/ml/model/chat_template.jinja",
                 "container_startup_health_check_timeout": 2400, "model_data_download_timeout": 1800},
    },
}


def render(case: dict) -> dict:
    model = ModelFacts(**case["model"])
    with override_settings(AWS_REGION="us-east-1"):
        serializer = DeploySpecSerializer(data=case["data"], context={"model": model})
        assert serializer.is_valid(), serializer.errors
    spec = serializer.spec
    rendered = {
        "engine": spec.engine,
        "tensor_parallel_size": spec.tensor_parallel_size,
        "sagemaker_environment": engines.sagemaker_environment(spec, model),
    }
    if spec.engine != "lmi":
        rendered["engine_command"] = engines.engine_command(spec.engine)
        rendered["engine_argv"] = engines.engine_argv(spec, model, engines.DEFAULT_ENGINE_PORTS[spec.engine])
    if model.from_s3:
        rendered["model_data_source"] = engines.model_data_source(model.source_uri)
    if spec.lora_adapters:
        rendered["additional_model_data_sources"] = engines.additional_model_data_sources(spec.lora_adapters)
    return rendered


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    path = GOLDEN / f"{name}.json"
    actual = {"input": CASES[name], "expected": render(CASES[name])}
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(actual, indent=2, sort_keys=False) + "\n")
    golden = json.loads(path.read_text())
    assert golden["input"] == CASES[name], "the case changed: regenerate and review the golden file"
    assert actual["expected"] == golden["expected"]
