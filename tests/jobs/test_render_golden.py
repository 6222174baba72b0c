"""Every job type × method renders a bundle equal to its golden files, and every rendered config uses
only argument names and enum values the real tools define (apps/jobs/renderers/*_schema.py).

Specs are built through the real TrainingSpecSerializer. Regenerate after an intended change with
    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/jobs/test_render_golden.py
and review the diff of tests/jobs/golden/.
"""

import dataclasses
import json
import os
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from apps.jobs.renderers import llamafactory_schema as lf
from apps.jobs.renderers import render_job_bundle
from apps.jobs.renderers.context import DatasetRef
from apps.jobs.renderers.easyr1_schema import ENUMS as R1_ENUMS
from apps.jobs.renderers.easyr1_schema import LOGGERS, REQUIRED, flatten, leaf_type, startup_problems
from apps.jobs.spec import TrainingSpecSerializer

from .test_spec import FORMAT_FOR, GOOD_REWARD, make_dataset
from tests.conftest import grant_group_policy

GOLDEN = Path(__file__).parent / "golden"
LF_TYPES = ["sft", "pt", "ppo", "dpo", "kto", "rm"]
R1_TYPES = ["grpo", "dapo", "gspo", "cispo"]

CASES = {
    **{f"{t}-{m}": (t, {"finetuning_method": m, **({"quantization_bit": 4} if m == "qlora" else {})})
       for t in LF_TYPES for m in ("lora", "qlora", "full")},
    **{f"{t}-{m}": (t, {"finetuning_method": m}) for t in R1_TYPES for m in ("lora", "full")},
    # Variants that exercise the other branches of the renderers.
    "sft-lora-multinode-zero3-offload-wandb": ("sft", {
        "instance_type": "ml.g5.12xlarge", "instance_count": 2, "deepspeed_stage": 3, "offload": True,
        "tracker": "wandb", "tracker_key_ref": "wandb-main", "val_size": 0.05, "eval_steps": 50,
        "booster": "liger", "max_steps": 1000, "base_model": "s3://models-bucket/llama3/", "template": "llama3",
        "hf_token_ref": "hf-main"}),
    "sft-qlora4-liger-swanlab-builtin": ("sft", {
        "finetuning_method": "qlora", "quantization_bit": 4, "booster": "liger", "tracker": "swanlab",
        "tracker_key_ref": "swan", "tracker_project": "chat-tuning", "precision": "fp16", "lora_target": "q_proj,v_proj",
        "builtin": True}),
    "dpo-qlora8-ipo-flashattn-zero2": ("dpo", {"finetuning_method": "qlora", "quantization_bit": 8, "pref_loss": "ipo", "pref_beta": 0.3, "booster": "flash_attn2",
                                       "deepspeed_stage": 2, "instance_type": "ml.g5.12xlarge"}),
    "ppo-full-hf-reward": ("ppo", {"finetuning_method": "full", "reward_model": "my-org/my-reward-model",
                                   "reward_model_type": "full"}),
    "grpo-custom-reward-prompt-multinode": ("grpo", {
        "reward_function": "custom", "reward_code": GOOD_REWARD, "format_prompt": "custom",
        "format_prompt_template": "{{ content | trim }}\nPut the answer in \\boxed{}.", "instance_count": 2,
        "tracker": "wandb", "tracker_key_ref": "wandb-main", "eval_steps": None, "lora_target": "q_proj,v_proj",
        "finetuning_method": "lora", "max_steps": 200}),
    # Issue #16's methods and options, in their own folder (tests/jobs/golden/llamafactory/).
    **{f"llamafactory/{t}-freeze": (t, {"finetuning_method": "freeze"}) for t in LF_TYPES},
    "llamafactory/sft-freeze-extra-neftune-packing-yarn": ("sft", {
        "finetuning_method": "freeze", "freeze_trainable_layers": -4, "freeze_trainable_modules": "mlp, self_attn",
        "freeze_extra_modules": "embed_tokens,lm_head", "neftune_noise_alpha": 5.0, "packing": True,
        "rope_scaling": "yarn", "cutoff_len": 65536}),
    "llamafactory/sft-lora-dora-rslora-loraplus": ("sft", {
        "use_dora": True, "use_rslora": True, "loraplus_lr_ratio": 16.0, "lora_rank": 32}),
    "llamafactory/sft-qlora-dora": ("sft", {"finetuning_method": "qlora", "quantization_bit": 4, "use_dora": True}),
    "llamafactory/dpo-lora-pissa-simpo": ("dpo", {"pissa_init": True, "pissa_iter": -1, "pref_loss": "simpo"}),
    "llamafactory/sft-full-galore-8bit": ("sft", {
        "finetuning_method": "full", "use_galore": True, "galore_rank": 128, "galore_target": "q_proj, v_proj",
        "galore_update_interval": 100, "galore_scale": 0.25, "optimizer": "adamw_8bit"}),
    "llamafactory/pt-freeze-apollo-unpacked": ("pt", {
        "finetuning_method": "freeze", "use_apollo": True, "apollo_rank": 256, "apollo_scale": 1.0, "packing": False,
        "rope_scaling": "linear"}),
    "llamafactory/sft-full-badam-zero3": ("sft", {
        "finetuning_method": "full", "use_badam": True, "badam_switch_mode": "random", "badam_switch_interval": 100,
        "deepspeed_stage": 3, "instance_type": "ml.g5.12xlarge"}),
}


def dataset_refs(job_type, builtin=False):
    if builtin:
        return [DatasetRef(name="alpaca_en_demo")]
    if job_type in R1_TYPES:
        folder = "/opt/ml/input/data/datasets/mh_7_math"
        return [DatasetRef(
            name="mh_7_math", staged_uri="s3://modelhub-test/datasets/ds-math-7/staged/",
            entry={"file_name": "mh_7_math.jsonl", "columns": {"prompt": "problem", "response": "answer"}},
            easyr1={"train_files": f"{folder}/easyr1/train.jsonl@train", "val_files": f"{folder}/easyr1/val.jsonl@train",
                    "prompt_key": "problem", "answer_key": "answer"},
        )]
    entries = {
        "alpaca": {"file_name": "mh_7_chat.jsonl"},
        "text": {"file_name": "mh_7_chat.jsonl", "columns": {"prompt": "text"}},
        "sharegpt": {"file_name": "mh_7_chat.jsonl", "formatting": "sharegpt"},
        "preference": {"file_name": "mh_7_chat.jsonl", "ranking": True,
                       "columns": {"prompt": "instruction", "query": "input", "chosen": "chosen", "rejected": "rejected"}},
        "kto": {"file_name": "mh_7_chat.jsonl", "columns": {"prompt": "instruction", "response": "output",
                                                            "kto_tag": "label"}},
    }
    return [
        DatasetRef(name="mh_7_chat", staged_uri="s3://modelhub-test/datasets/ds-chat-7/staged/",
                   entry=entries[FORMAT_FOR[job_type]]),
        DatasetRef(name="mh_8_more", staged_uri="s3://modelhub-test/datasets/ds-more-8/staged/",
                   entry={**entries[FORMAT_FOR[job_type]], "file_name": "mh_8_more"}),
    ]


CONTEXT = {"job_id": 42, "job_name": "mh-golden-42abcde", "output_uri": "s3://modelhub-test/jobs/mh-golden-42abcde/",
           "checkpoint_uri": "s3://modelhub-test/jobs/mh-golden-42abcde/checkpoints/",
           "config_uri": "s3://modelhub-test/jobs/mh-golden-42abcde/config/"}


def build(user, job_type, overrides):
    overrides = dict(overrides)
    builtin = overrides.pop("builtin", False)
    ds = make_dataset(user, FORMAT_FOR[job_type])
    data = {"job_type": job_type, "base_model": "Qwen/Qwen3-4B", "datasets": [ds.pk]}
    if job_type == "ppo":
        data["reward_model"] = "s3://modelhub-test/jobs/mh-rm-7/model/"
    if job_type in R1_TYPES:
        data["reward_function"] = "math"
    data.update(overrides)
    if data.get("reward_function") == "custom":
        grant_group_policy(user, allow_custom_reward_code=True)
    if data.get("tracker_key_ref"):  # the user's stored key the spec refers to
        from apps.users.models import UserSecret

        UserSecret.objects.create(owner=user, name=data["tracker_key_ref"], kind=data["tracker"], value="k" * 40)
    if data.get("hf_token_ref"):
        from apps.users.models import UserSecret

        UserSecret.objects.create(owner=user, name=data["hf_token_ref"], kind="hf_token", value="hf_" + "x" * 30)
    serializer = TrainingSpecSerializer(data=data, context={"user": user})
    assert serializer.is_valid(), serializer.errors
    spec = dataclasses.replace(serializer.spec, datasets=(7,))  # database ids differ between runs
    return spec, render_job_bundle(spec, {**CONTEXT, "datasets": dataset_refs(job_type, builtin)})


@pytest.fixture(params=sorted(CASES))
def rendered(request, user):
    job_type, overrides = CASES[request.param]
    spec, files = build(user, job_type, overrides)
    return request.param, spec, files


@pytest.mark.django_db
def test_bundle_matches_golden(rendered):
    case, _, files = rendered
    folder = GOLDEN / case
    if os.environ.get("UPDATE_GOLDEN"):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for name, text in files.items():
            (folder / name).write_text(text)
    expected = {p.name: p.read_text() for p in folder.iterdir()} if folder.is_dir() else {}
    assert sorted(files) == sorted(expected), f"files differ for {case}"
    for name, text in files.items():
        assert text == expected[name], f"{case}/{name} differs from its golden file"


def check_llamafactory_train(config: dict, stage: str):
    unknown = set(config) - lf.HPARAM_KEYS
    assert not unknown, f"keys LLaMA-Factory does not define: {unknown}"
    missing = (lf.REQUIRED_TRAIN_KEYS | lf.REQUIRED_BY_STAGE.get(stage, frozenset())) - set(config)
    assert not missing, f"required keys missing: {missing}"
    for key, value in config.items():
        assert value is not None, f"{key} rendered as null"
        if key in lf.ENUMS:
            assert value in lf.ENUMS[key], f"{key}={value!r} not in {lf.ENUMS[key]}"
        if key in lf.STRING_KEYS:
            assert isinstance(value, str), f"{key} must be a string, got {value!r}"
    assert config["stage"] == stage
    assert not (config.get("bf16") and config.get("fp16"))
    if config.get("quantization_bit"):
        assert config["finetuning_type"] == "lora", "quantization is LoRA-only in LLaMA-Factory"
    if config.get("deepspeed"):
        name = config["deepspeed"].rsplit("/", 1)[-1]
        assert name in lf.DEEPSPEED_CONFIGS.values()
    check_llamafactory_methods(config, stage)
    secret_keys = {"hf_hub_token", "ms_hub_token", "om_hub_token", "swanlab_api_key", "swanlab_lark_secret"}
    assert not secret_keys & set(config), "secrets never go into the YAML"


def check_llamafactory_methods(config: dict, stage: str):
    """LLaMA-Factory 0.9.4's rules on methods and optimizers (FinetuningArguments.__post_init__,
    hparams/parser.py), held against the rendered config."""
    method = config["finetuning_type"]
    if method != "lora":
        assert not {"use_dora", "use_rslora", "pissa_init", "loraplus_lr_ratio"} & set(config), config
    if method != "freeze":
        assert not {k for k in config if k.startswith("freeze_")}, config
    optimizers = [k for k in ("use_galore", "use_apollo", "use_badam") if config.get(k)]
    assert len(optimizers) <= 1 and not (optimizers and method == "lora"), config
    deepspeed = config.get("deepspeed", "")
    if config.get("use_galore") or config.get("use_apollo"):
        assert not deepspeed, "GaLore and APOLLO are incompatible with DeepSpeed"
    if config.get("use_badam"):
        assert config["badam_mode"] == "layer" and "z3" in deepspeed, "layer-wise BAdam under torchrun needs ZeRO-3"
    if config.get("pissa_init"):
        assert "quantization_bit" not in config and stage not in ("ppo", "kto") and "z3" not in deepspeed
        assert config["pissa_convert"] is True  # the merge step adds a plain LoRA adapter to the original base
        if stage == "dpo":
            assert config["pref_loss"] in ("orpo", "simpo")
    if "packing" in config:
        assert stage in ("sft", "pt")
    assert "neat_packing" not in config  # refused with the image's transformers (>= 4.53)


@pytest.mark.django_db
def test_rendered_configs_use_only_known_arguments(rendered):
    case, spec, files = rendered
    manifest = json.loads(files["job.json"])
    for name, text in files.items():
        if name.endswith(".yaml"):  # both tools load their YAML with OmegaConf: it must read it as we meant
            assert OmegaConf.to_container(OmegaConf.create(text)) == yaml.safe_load(text), name
    if spec.tool == "llamafactory":
        config = yaml.safe_load(files["train.yaml"])
        check_llamafactory_train(config, spec.job_type)
        info = json.loads(files["dataset_info.json"])
        for name in config["dataset"].split(","):
            assert name in info or name in manifest["builtin_datasets"]
        for entry in info.values():
            sources = {"hf_hub_url", "ms_hub_url", "script_url", "cloud_file_name", "file_name"} & set(entry)
            assert len(sources) == 1
        if "merge.yaml" in files:
            merge = yaml.safe_load(files["merge.yaml"])
            assert set(merge) <= lf.HPARAM_KEYS and lf.REQUIRED_EXPORT_KEYS <= set(merge)
            assert "quantization_bit" not in merge, "LoRA merges into the unquantized base (QLoRA included)"
            assert merge["adapter_name_or_path"] == config["output_dir"]
            assert merge["model_name_or_path"] == config["model_name_or_path"]
    else:
        config = yaml.safe_load(files["easyr1.yaml"])
        flat = flatten(config)
        for key, value in flat.items():
            types = leaf_type(key)
            assert types is not None, f"EasyR1 has no config key {key}"
            assert isinstance(value, types) or value is None and type(None) in types, f"{key}={value!r}"
            assert not (isinstance(value, bool) and bool not in types), f"{key} is not a boolean"
            if key in R1_ENUMS:
                assert value in R1_ENUMS[key], f"{key}={value!r}"
        assert REQUIRED <= set(flat), REQUIRED - set(flat)
        assert set(flat["trainer.logger"]) <= set(LOGGERS)
        assert flat["trainer.nnodes"] == spec.instance_count
        assert flat["trainer.n_gpus_per_node"] == spec.gpus_per_node
        assert flat["worker.rollout.tensor_parallel_size"] <= spec.gpus_per_node
        assert flat["worker.reward.reward_function"].endswith(":compute_score")
        assert startup_problems(config) == [], "EasyR1 would stop at start-up"


def test_every_job_type_and_method_has_a_golden_case():
    covered = {(t, o.get("finetuning_method", "lora")) for t, o in CASES.values()}
    for t in LF_TYPES:
        assert {(t, "lora"), (t, "qlora"), (t, "freeze"), (t, "full")} <= covered
    for t in R1_TYPES:
        assert {(t, "lora"), (t, "full")} <= covered
