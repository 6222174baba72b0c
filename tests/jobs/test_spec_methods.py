"""Issue #16's methods and options in the training spec: freeze tuning, the LoRA variants, GaLore / APOLLO /
BAdam, NEFTune, packing and RoPE scaling. Each combination LLaMA-Factory 0.9.4 refuses is a field error here
(tests/jobs/test_render_llamafactory_parser.py shows the real parser refusing the same configs), and the
stored spec keeps only the settings the run uses."""

import pytest

from apps.jobs.renderers import llamafactory
from apps.jobs.renderers import llamafactory_schema as lf
from apps.jobs.renderers.context import DatasetRef, job_context

from .test_spec import errors_of, make_dataset, payload, validate

pytestmark = pytest.mark.django_db

FULL = {"finetuning_method": "full"}
ZERO3 = {"deepspeed_stage": 3, "instance_type": "ml.g5.12xlarge"}


def accepted(user, job_type="sft", fmt="alpaca", **extra):
    serializer, ok = validate(user, payload(job_type, make_dataset(user, fmt), **extra))
    assert ok, serializer.errors
    return serializer.spec


def refused(user, job_type="sft", fmt="alpaca", **extra):
    return errors_of(user, payload(job_type, make_dataset(user, fmt), **extra))


def train_config(spec):
    return llamafactory.train_config(spec, job_context({"datasets": [DatasetRef(name="d")]}))


def test_freeze_tuning_renders_its_layers_and_modules_and_drops_lora_settings(user):
    spec = accepted(user, finetuning_method="freeze", freeze_trainable_layers=-3,
                    freeze_trainable_modules=" mlp , self_attn", freeze_extra_modules="", lora_rank=64, use_dora=True)
    assert (spec.freeze_trainable_layers, spec.freeze_trainable_modules) == (-3, "mlp,self_attn")
    assert spec.freeze_extra_modules is None and spec.lora_rank is None and spec.use_dora is None
    config = train_config(spec)
    assert config["finetuning_type"] == "freeze" and config["freeze_trainable_layers"] == -3
    assert not {"lora_rank", "use_dora", "freeze_extra_modules"} & set(config)
    assert not spec.needs_merge  # no adapter to merge: the trained model is the output


@pytest.mark.parametrize("field,value", [("freeze_trainable_layers", 0), ("freeze_trainable_modules", "mlp;attn"),
                                         ("freeze_extra_modules", "lm-head")])
def test_bad_freeze_settings_are_field_errors(user, field, value):
    assert list(refused(user, finetuning_method="freeze", **{field: value})) == [field]


def test_the_grpo_family_does_not_freeze_and_freeze_is_not_quantized(user):
    assert "finetuning_method" in errors_of(user, payload("grpo", make_dataset(user, "prompt_answer"),
                                                          finetuning_method="freeze"))
    spec = accepted(user, finetuning_method="freeze", quantization_bit=4)
    assert spec.quantization_bit is None and "quantization_bit" not in train_config(spec)


def test_freeze_ppo_needs_a_full_reward_model_and_cannot_resume(user):
    spec = accepted(user, "ppo", "sharegpt", finetuning_method="freeze")
    assert spec.reward_model_type == "full"
    assert "reward_model_type" in refused(user, "ppo", "sharegpt", finetuning_method="freeze", reward_model_type="lora")
    # hparams/parser.py drops the resume for rm/ppo freeze runs: refuse rather than restart silently
    assert "resume_from_checkpoint" in refused(user, "rm", "preference", finetuning_method="freeze",
                                               resume_from_checkpoint="s3://bk1/c/x/")


def test_lora_variants_render_only_when_chosen(user):
    plain = train_config(accepted(user))
    assert not {"use_dora", "use_rslora", "pissa_init", "loraplus_lr_ratio"} & set(plain)
    config = train_config(accepted(user, use_dora=True, use_rslora=True, loraplus_lr_ratio=16.0))
    assert (config["use_dora"], config["use_rslora"], config["loraplus_lr_ratio"]) == (True, True, 16.0)
    assert config["finetuning_type"] == "lora"


def test_pissa_adapters_are_saved_as_plain_lora_so_the_merge_step_fits_the_original_base(user):
    spec = accepted(user, pissa_init=True, pissa_iter=4)
    config = train_config(spec)
    assert (config["pissa_init"], config["pissa_iter"], config["pissa_convert"]) == (True, 4, True)
    assert spec.needs_merge
    assert accepted(user).pissa_iter is None  # unused without PiSSA


@pytest.mark.parametrize("job_type,fmt,extra", [
    ("sft", "alpaca", {"finetuning_method": "qlora", "quantization_bit": 4}),  # _verify_model_args
    ("kto", "kto", {}),  # FinetuningArguments.__post_init__
    ("dpo", "preference", {"pref_loss": "sigmoid"}),  # a reference model
    ("sft", "alpaca", ZERO3),  # get_train_args
])
def test_pissa_where_llamafactory_refuses_it(user, job_type, fmt, extra):
    assert "pissa_init" in refused(user, job_type, fmt, pissa_init=True, **extra)


def test_pissa_with_a_reference_free_dpo_loss(user):
    assert accepted(user, "dpo", "preference", pissa_init=True, pref_loss="orpo").pissa_init is True


def test_dora_on_qlora_is_accepted_because_the_image_quantizes_with_bitsandbytes(user):
    # model/adapter.py refuses DoRA only on non-bitsandbytes quantization; ModelHub quantizes with bnb.
    config = train_config(accepted(user, finetuning_method="qlora", quantization_bit=4, use_dora=True))
    assert config["quantization_method"] == "bnb" and config["use_dora"] is True


@pytest.mark.parametrize("switch", ["use_galore", "use_apollo", "use_badam"])
def test_memory_saving_optimizers_are_not_for_lora(user, switch):
    extra = ZERO3 if switch == "use_badam" else {}
    assert switch in refused(user, **{switch: True}, **extra)
    assert switch in refused(user, finetuning_method="qlora", quantization_bit=4, **{switch: True}, **extra)


def test_only_one_memory_saving_optimizer(user):
    errors = refused(user, **FULL, use_galore=True, use_apollo=True)
    assert {"use_galore", "use_apollo"} <= set(errors)


def test_galore_and_apollo_refuse_deepspeed_and_other_optimizers(user):
    assert list(refused(user, **FULL, use_galore=True, deepspeed_stage=2)) == ["deepspeed_stage"]
    assert list(refused(user, **FULL, use_apollo=True, deepspeed_stage=0)) == ["deepspeed_stage"]
    assert list(refused(user, **FULL, use_galore=True, optimizer="sgd")) == ["optimizer"]
    assert list(refused(user, **FULL, use_apollo=True, optimizer="adamw_8bit")) == ["optimizer"]
    assert list(refused(user, **FULL, use_galore=True, galore_target="q-proj")) == ["galore_target"]
    config = train_config(accepted(user, **FULL, use_galore=True, optimizer="adafactor", galore_rank=64))
    assert (config["use_galore"], config["galore_rank"], config["optim"]) == (True, 64, "adafactor")
    assert "deepspeed" not in config


def test_badam_runs_layer_wise_under_zero3(user):
    assert list(refused(user, **FULL, use_badam=True)) == ["deepspeed_stage"]
    assert list(refused(user, **FULL, use_badam=True, deepspeed_stage=2, instance_type="ml.g5.12xlarge")) == \
        ["deepspeed_stage"]
    spec = accepted(user, **FULL, **ZERO3, use_badam=True, badam_switch_mode="descending")
    config = train_config(spec)
    assert (config["badam_mode"], config["badam_switch_mode"], config["badam_switch_interval"]) == \
        ("layer", "descending", 50)
    assert config["deepspeed"].endswith("ds_z3_config.json")
    assert spec.galore_rank is None and spec.apollo_rank is None  # settings of unused optimizers are not stored


def test_neftune_packing_and_rope_scaling(user):
    config = train_config(accepted(user, neftune_noise_alpha=5.0, packing=True, rope_scaling="dynamic"))
    assert (config["neftune_noise_alpha"], config["packing"], config["rope_scaling"]) == (5.0, True, "dynamic")
    plain = train_config(accepted(user))
    assert not {"neftune_noise_alpha", "packing", "rope_scaling"} & set(plain)  # LLaMA-Factory's defaults
    pt = accepted(user, "pt", "text")
    assert pt.packing is True and "packing" not in train_config(pt)  # pt packs by default
    assert train_config(accepted(user, "pt", "text", packing=False))["packing"] is False
    assert accepted(user, "dpo", "preference", packing=True).packing is None  # pairs are never packed
    assert accepted(user, "ppo", "sharegpt", neftune_noise_alpha=5.0).neftune_noise_alpha is None
    assert list(refused(user, rope_scaling="longrope")) == ["rope_scaling"]


def test_offered_choices_are_the_pinned_versions(user):
    from apps.jobs.spec.fields import METHODS, ROPE_SCALINGS

    assert set(ROPE_SCALINGS) == set(lf.ENUMS["rope_scaling"])
    assert {"lora" if m == "qlora" else m for m in METHODS} <= set(lf.FINETUNING_TYPES)
    assert "oft" not in METHODS  # 0.9.4 has it; ModelHub's merge and deploy paths do not yet
    # Each optimizer the spec can switch on is installed by the image (tests/docker checks the Dockerfile).
    assert {"galore-torch", "apollo-torch", "badam"} <= set(lf.IMAGE_PACKAGES)
