"""The export building block: LLaMA-Factory 0.9.4's export rules as field errors, the `llamafactory-cli export`
config (golden files), and the real parser (get_infer_args) over every golden where the local ML environment
is installed."""

from pathlib import Path

import pytest
import yaml

from apps.jobs.export_settings import ExportSettings, ExportSource
from apps.jobs.renderers.merge import export_job_config
from apps.jobs.renderers.yamlio import dump

from .test_render_llamafactory_parser import local_python, parse

GOLDEN = Path(__file__).parent / "golden" / "export"
PATHS = {"export_dir": "/opt/ml/model/export", "adapter_dir": "/opt/ml/input/data/source/output",
         "merged_dir": "/opt/ml/input/data/source/merged",
         "calibration_file": "/opt/ml/input/data/datasets/mh_9_calibration/train.jsonl"}
LORA = ExportSource("succeeded", "llamafactory", "lora", "Qwen/Qwen3-4B", "qwen3")
QLORA = ExportSource("succeeded", "llamafactory", "qlora", "Qwen/Qwen3-4B", "qwen3")
FULL = ExportSource("succeeded", "llamafactory", "full", "Qwen/Qwen3-4B", "qwen3", trust_remote_code=True)

CASES = {
    "merge-lora": ExportSettings(LORA),
    "merge-qlora-push-private": ExportSettings(QLORA, export_size=2, hub_repo_id="alice/qwen3-support",
                                               hf_token_ref="my-hf"),
    "gptq4-from-qlora": ExportSettings(QLORA, quantization_bit=4, calibration_format="text"),
    "gptq8-full-short-samples": ExportSettings(FULL, quantization_bit=8, calibration_format="text", nsamples=64,
                                               maxlen=512),
}


def rendered(name: str) -> dict:
    export = CASES[name]
    return export_job_config(export, **{**PATHS, "calibration_file": PATHS["calibration_file"] if export.quantizes
                                        else None})


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_case_is_valid_and_matches_its_golden_file(name):
    assert CASES[name].field_errors() == {}
    assert dump(rendered(name)) == (GOLDEN / name / "export.yaml").read_text()


def test_a_quantized_export_never_loads_an_adapter_and_a_qlora_merge_never_quantizes_the_base():
    quantized = rendered("gptq4-from-qlora")
    assert quantized["model_name_or_path"] == PATHS["merged_dir"] and "adapter_name_or_path" not in quantized
    merged = rendered("merge-qlora-push-private")
    assert merged["adapter_name_or_path"] == PATHS["adapter_dir"] and merged["model_name_or_path"] == "Qwen/Qwen3-4B"
    assert not any("quantization_bit" in key and not key.startswith("export_") for key in merged)


def test_the_hub_token_is_never_in_the_config():
    config = rendered("merge-qlora-push-private")
    assert config["export_hub_model_id"] == "alice/qwen3-support"
    assert "hf_hub_token" not in config and "my-hf" not in dump(config)


@pytest.mark.parametrize("export, field, words", [
    (ExportSettings(ExportSource("failed", "llamafactory", "lora", "m/x")), "source", "succeeded"),
    (ExportSettings(ExportSource("succeeded", "easyr1", "lora", "m/x")), "source", "EasyR1"),
    (ExportSettings(LORA, export_size=0), "export_size", "1 to 100"),
    (ExportSettings(LORA, quantization_bit=5, calibration_format="text"), "quantization_bit", "2, 3, 4 or 8"),
    (ExportSettings(LORA, quantization_bit=4), "calibration_dataset", "needs a calibration dataset"),
    (ExportSettings(LORA, quantization_bit=4, calibration_format="alpaca"), "calibration_dataset", "`text` column"),
    (ExportSettings(LORA, quantization_bit=4, calibration_format="text", nsamples=0), "nsamples", "1 to 1024"),
    (ExportSettings(LORA, quantization_bit=4, calibration_format="text", maxlen=64), "maxlen", "128 to 8192"),
    (ExportSettings(LORA, quantization_bit=4, calibration_format="text", gpu_count=0), "instance_type", "GPU"),
    (ExportSettings(LORA, hub_repo_id="not a repo", hf_token_ref="my-hf"), "hub_repo_id", "owner/name"),
    (ExportSettings(LORA, hub_repo_id="alice/model"), "hf_token_ref", "stored Hugging Face token"),
])
def test_bad_settings_are_field_errors(export, field, words):
    errors = export.field_errors()
    assert list(errors) == [field] and words in errors[field]


def test_the_real_llamafactory_parser_accepts_every_golden_export():
    python = local_python()
    configs = {name: yaml.safe_load((GOLDEN / name / "export.yaml").read_text()) for name in CASES}
    refused = {"adapter-without-lora": {**configs["merge-lora"], "finetuning_type": "full"},
               "gptq-without-calibration": {k: v for k, v in configs["gptq4-from-qlora"].items()
                                            if k != "export_quantization_dataset"}}
    results = parse(python, {}, {**configs, **refused})["results"]
    assert {name: results[name] for name in CASES} == {name: "ok" for name in CASES}
    assert "Adapter is only valid for the LoRA method" in results["adapter-without-lora"]
    assert "Quantization dataset is necessary" in results["gptq-without-calibration"]


def test_the_model_own_code_runs_only_when_the_source_job_allowed_it():
    assert rendered("merge-lora")["trust_remote_code"] is False
    assert rendered("gptq8-full-short-samples")["trust_remote_code"] is True
