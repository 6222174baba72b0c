"""TrainingSpecSerializer and TrainingSpec: defaults, cross-field rules with field-level errors."""

import pytest

from apps.core.job_types import JobType
from apps.jobs.spec import (
    TrainingSpec,
    TrainingSpecSerializer,
    check_format_prompt,
    check_reward_code,
    defaults_for,
    fields_for,
)
from tests.conftest import grant_group_policy

ALL_TYPES = [str(t) for t in JobType]
FORMAT_FOR = {"sft": "alpaca", "pt": "text", "ppo": "sharegpt", "dpo": "preference", "kto": "kto",
              "rm": "preference", "grpo": "prompt_answer", "dapo": "prompt_answer", "gspo": "prompt_answer",
              "cispo": "prompt_answer"}
GOOD_REWARD = ('REWARD_TYPE = "batch"\n\ndef compute_score(reward_inputs, format_weight=0.1):\n'
               '    return [{"overall": 1.0} for _ in reward_inputs]\n')


def make_dataset(owner, fmt="alpaca", *, status="ready", shared=False, name="data"):
    from apps.catalog.models import Dataset

    ds = Dataset(owner=owner, name=name, source="upload", format=fmt, shared=shared, file_type="jsonl")
    ds.status = status
    ds.save()
    return ds


def make_base_model(key="mh-test-model", **fields):
    from apps.catalog.models import BaseModel

    values = {"display_name": "Qwen3 0.6B", "repo_id": "Qwen/Qwen3-0.6B", "template": "qwen3",
              "parameters_b": 0.6, "lora_targets": ["q_proj", "v_proj"]}
    values.update(fields)
    return BaseModel.objects.create(key=key, **values)


def payload(job_type, dataset, **extra):
    data = {"job_type": job_type, "base_model": "Qwen/Qwen3-0.6B", "datasets": [dataset.pk]}
    if job_type == "ppo":
        data["reward_model"] = "s3://bucket/jobs/rm-1/model/"
    if job_type in ("grpo", "dapo", "gspo", "cispo"):
        data["reward_function"] = "math"
    data.update(extra)
    return data


def validate(user, data, **context):
    serializer = TrainingSpecSerializer(data=data, context={"user": user, **context})
    ok = serializer.is_valid()
    return serializer, ok


def errors_of(user, data, **context):
    serializer, ok = validate(user, data, **context)
    assert not ok, "expected the spec to be rejected"
    return serializer.errors


@pytest.mark.django_db
@pytest.mark.parametrize("job_type", ALL_TYPES)
def test_minimal_payload_validates_with_type_defaults(user, job_type):
    ds = make_dataset(user, FORMAT_FOR[job_type])
    serializer, ok = validate(user, payload(job_type, ds))
    assert ok, serializer.errors
    spec = serializer.spec
    assert spec.job_type == job_type
    assert spec.datasets == (ds.pk,)
    # a Hugging Face id the catalog knows is that catalog entry (its template and LoRA targets apply)
    assert spec.base_model_source == "catalog" and spec.base_model_uri == "Qwen/Qwen3-0.6B"
    defaults = defaults_for(job_type)
    assert spec.learning_rate == defaults["learning_rate"]
    assert spec.tool == ("easyr1" if job_type in ("grpo", "dapo", "gspo", "cispo") else "llamafactory")
    # Stored JSON round-trips to the same frozen spec.
    assert TrainingSpec.from_dict(spec.to_dict()) == spec


def test_defaults_differ_per_type():
    assert defaults_for("dpo")["pref_loss"] == "sigmoid"
    assert "pref_loss" not in defaults_for("kto")  # KTO has its own loss: never a pref_loss to cast
    assert defaults_for("kto")["pref_beta"] == 0.1
    assert defaults_for("gspo")["loss_type"] == "gspo_token" and defaults_for("gspo")["disable_kl"] is True
    assert defaults_for("cispo")["clip_ratio_high"] == 4.0
    assert defaults_for("dapo")["online_filtering"] is True
    assert "template" not in defaults_for("pt")
    assert "rollout_n" not in defaults_for("sft") and "cutoff_len" not in defaults_for("grpo")
    with pytest.raises(ValueError):
        defaults_for("sft2")


def test_fields_for_hides_what_does_not_apply():
    assert "reward_model" in fields_for("ppo") and "reward_model" not in fields_for("sft")
    assert "deepspeed_stage" in fields_for("sft") and "deepspeed_stage" not in fields_for("grpo")
    assert "pref_loss" in fields_for("dpo") and "pref_loss" not in fields_for("kto")


@pytest.mark.django_db
def test_inapplicable_fields_are_dropped(user):
    ds = make_dataset(user)
    serializer, ok = validate(user, payload("sft", ds, pref_beta=0.5, rollout_n=9, finetuning_method="full",
                                            lora_rank=32))
    assert ok, serializer.errors
    spec = serializer.spec
    assert spec.pref_beta is None and spec.rollout_n is None
    assert spec.lora_rank is None and spec.lora_target is None  # full fine-tuning has no LoRA settings
    assert not spec.needs_merge


@pytest.mark.django_db
def test_kto_keeps_pref_loss_out_and_strings_stay_strings(user):
    ds = make_dataset(user, "kto")
    serializer, ok = validate(user, payload("kto", ds, pref_loss="sigmoid", pref_beta=0.2))
    assert ok, serializer.errors
    assert serializer.spec.pref_loss is None and serializer.spec.pref_beta == 0.2


@pytest.mark.django_db
def test_catalog_model_fills_template_and_targets(user):
    make_base_model()
    ds = make_dataset(user)
    serializer, ok = validate(user, payload("sft", ds, base_model="mh-test-model"))
    assert ok, serializer.errors
    spec = serializer.spec
    assert (spec.base_model_source, spec.base_model_uri) == ("catalog", "Qwen/Qwen3-0.6B")
    assert spec.template == "qwen3" and spec.lora_target == "q_proj,v_proj"
    # What the user sets wins over the catalog.
    serializer, ok = validate(user, payload("sft", ds, base_model="mh-test-model", template="chatml", lora_target="all"))
    assert ok and serializer.spec.template == "chatml" and serializer.spec.lora_target == "all"


@pytest.mark.django_db
def test_other_users_custom_model_is_not_a_catalog_key(user, other_user):
    make_base_model(key="bobs-model", owner=other_user, is_custom=True)
    ds = make_dataset(user)
    assert "base_model" in errors_of(user, payload("sft", ds, base_model="bobs-model"))


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["not a model", "s3://", "s3://Bad_Bucket/x", "s3://bucket", "http://x/y",
                                   "a/b/c"])
def test_bad_base_model_is_a_field_error(user, value):
    ds = make_dataset(user)
    assert "base_model" in errors_of(user, payload("sft", ds, base_model=value))


@pytest.mark.django_db
def test_s3_base_model(user):
    ds = make_dataset(user)
    serializer, ok = validate(user, payload("sft", ds, base_model="s3://my-bucket/models/llama/", template="llama3"))
    assert ok, serializer.errors
    assert serializer.spec.base_model_source == "s3" and serializer.spec.template == "llama3"


@pytest.mark.django_db
def test_unknown_template_rejected(user):
    ds = make_dataset(user)
    assert "template" in errors_of(user, payload("sft", ds, template="Qwen3-8B-Instruct"))


@pytest.mark.django_db
def test_spot_wait_must_cover_run(user):
    ds = make_dataset(user)
    errors = errors_of(user, payload("sft", ds, use_spot=True, max_run_hours=10, max_wait_hours=5))
    assert list(errors) == ["max_wait_hours"]
    assert "max_wait_hours" in errors_of(user, payload("sft", ds, use_spot=True, max_run_hours=10))
    serializer, ok = validate(user, payload("sft", ds, use_spot=True, max_run_hours=10, max_wait_hours=12))
    assert ok and serializer.spec.max_wait_seconds == 12 * 3600 and serializer.spec.max_run_seconds == 36000
    # Without spot, a stray max wait is ignored rather than sent to SageMaker.
    serializer, ok = validate(user, payload("sft", ds, max_wait_hours=1))
    assert ok and serializer.spec.max_wait_hours is None and serializer.spec.max_wait_seconds is None


@pytest.mark.django_db
def test_qlora_needs_a_bit_and_merges(user):
    ds = make_dataset(user)
    serializer, ok = validate(user, payload("sft", ds, finetuning_method="qlora"))
    assert ok and serializer.spec.quantization_bit == 4  # QLoRA defaults to 4-bit
    assert list(errors_of(user, payload("sft", ds, finetuning_method="qlora", quantization_bit=None))) == ["quantization_bit"]
    serializer, ok = validate(user, payload("sft", ds, finetuning_method="qlora", quantization_bit=4))
    assert ok and serializer.spec.quantization_bit == 4 and serializer.spec.needs_merge
    serializer, ok = validate(user, payload("sft", ds, finetuning_method="lora", quantization_bit=4))
    assert ok and serializer.spec.quantization_bit is None  # only QLoRA quantizes
    assert "quantization_bit" in errors_of(user, payload("sft", ds, finetuning_method="qlora", quantization_bit=3))


@pytest.mark.django_db
def test_qlora_8bit_with_zero3_rejected(user):
    ds = make_dataset(user)
    errors = errors_of(user, payload("sft", ds, finetuning_method="qlora", quantization_bit=8, deepspeed_stage=3,
                                     instance_type="ml.g5.12xlarge"))
    assert list(errors) == ["quantization_bit"]


@pytest.mark.django_db
def test_multi_node_needs_deepspeed(user):
    ds = make_dataset(user)
    data = payload("sft", ds, instance_type="ml.g5.12xlarge", instance_count=2)
    assert list(errors_of(user, data)) == ["deepspeed_stage"]
    serializer, ok = validate(user, {**data, "deepspeed_stage": 0})
    assert ok and serializer.spec.is_multi_node and serializer.spec.world_size == 8
    # EasyR1 shards with FSDP itself: no DeepSpeed stage needed (nor accepted).
    ds2 = make_dataset(user, "prompt_answer")
    serializer, ok = validate(user, payload("grpo", ds2, instance_count=2, deepspeed_stage=3))
    assert ok, serializer.errors
    assert serializer.spec.deepspeed_stage is None and serializer.spec.is_multi_node


@pytest.mark.django_db
def test_offload_needs_zero_2_or_3(user):
    ds = make_dataset(user)
    assert list(errors_of(user, payload("sft", ds, offload=True))) == ["offload"]
    serializer, ok = validate(user, payload("sft", ds, offload=True, deepspeed_stage=3))
    assert ok, serializer.errors


@pytest.mark.django_db
def test_instance_types_from_the_known_list(user):
    ds = make_dataset(user)
    assert list(errors_of(user, payload("sft", ds, instance_type="ml.g5.huge"))) == ["instance_type"]


@pytest.mark.django_db
def test_old_gpus_cannot_bf16_or_flash_attention(user):
    ds = make_dataset(user)
    errors = errors_of(user, payload("sft", ds, instance_type="ml.g4dn.xlarge", booster="flash_attn2"))
    assert set(errors) == {"booster"}  # the precision follows the GPU unless chosen
    assert set(errors_of(user, payload("sft", ds, instance_type="ml.g4dn.xlarge", precision="bf16"))) == {"precision"}
    serializer, ok = validate(user, payload("sft", ds, instance_type="ml.g4dn.xlarge"))
    assert ok and serializer.spec.precision == "fp16", serializer.errors
    serializer, ok = validate(user, payload("sft", ds, instance_type="ml.g5.xlarge"))
    assert ok and serializer.spec.precision == "bf16", serializer.errors


@pytest.mark.django_db
def test_resume_checkpoint_must_be_s3(user):
    ds = make_dataset(user)
    assert list(errors_of(user, payload("sft", ds, resume_from_checkpoint="/tmp/ckpt"))) == ["resume_from_checkpoint"]
    serializer, ok = validate(user, payload("sft", ds, resume_from_checkpoint="s3://bk1/jobs/x/checkpoints/"))
    assert ok and serializer.spec.resume_from_checkpoint == "s3://bk1/jobs/x/checkpoints/"
    math = make_dataset(user, "prompt_answer")
    errors = errors_of(user, payload("grpo", math, resume_from_checkpoint="s3://bk1/jobs/x/checkpoints/easyr1/"))
    assert "global_step_" in errors["resume_from_checkpoint"][0]
    serializer, ok = validate(user, payload("grpo", math,
                                            resume_from_checkpoint="s3://bk1/jobs/x/checkpoints/easyr1/global_step_40/"))
    assert ok, serializer.errors


@pytest.mark.django_db
def test_ppo_needs_reward_model(user):
    ds = make_dataset(user, "sharegpt")
    data = payload("ppo", ds)
    del data["reward_model"]
    assert list(errors_of(user, data)) == ["reward_model"]
    assert "reward_model" in errors_of(user, {**data, "reward_model": "s3://"})
    errors = errors_of(user, {**data, "reward_model": "s3://bk1/rm/", "finetuning_method": "full",
                              "reward_model_type": "lora"})
    assert list(errors) == ["reward_model_type"]
    serializer, ok = validate(user, {**data, "reward_model": "s3://bk1/rm/", "finetuning_method": "full"})
    assert ok and serializer.spec.reward_model_type == "full"  # the default follows the method
    assert "val_size" in errors_of(user, {**data, "reward_model": "s3://bk1/rm/", "val_size": 0.1})


@pytest.mark.django_db
@pytest.mark.parametrize("job_type", ["grpo", "dapo", "gspo", "cispo"])
def test_grpo_family_needs_a_reward(user, job_type):
    ds = make_dataset(user, "prompt_answer")
    data = payload(job_type, ds)
    del data["reward_function"]
    serializer, ok = validate(user, data)
    assert ok and serializer.spec.reward_function == ("dapo" if job_type == "dapo" else "math")  # as in the form
    assert list(errors_of(user, {**data, "reward_function": None})) == ["reward_function"]
    assert list(errors_of(user, {**data, "reward_function": "custom"})) == ["reward_code"]
    assert list(errors_of(user, {**data, "reward_function": "custom", "reward_code": "def f(x): pass"})) == ["reward_code"]
    grant_group_policy(user, allow_custom_reward_code=True)
    serializer, ok = validate(user, {**data, "reward_function": "custom", "reward_code": GOOD_REWARD})
    assert ok, serializer.errors
    assert serializer.spec.reward_code == GOOD_REWARD


def test_reward_code_checks_are_static():
    assert check_reward_code(GOOD_REWARD) == []
    assert "Line 1" in check_reward_code("def compute_score(:\n")[0]
    assert any("REWARD_TYPE" in p for p in check_reward_code("def compute_score(x):\n    return x\n"))
    assert any("compute_score" in p for p in check_reward_code('REWARD_TYPE = "batch"\n'))
    # Parsing never runs the code.
    assert check_reward_code('REWARD_TYPE = "batch"\nraise SystemExit(3)\ndef compute_score(x): pass\n') == []


def test_format_prompt_checks():
    assert check_format_prompt("{{ content | trim }} Think step by step.") == []
    assert check_format_prompt("{{ content ") != []
    assert "content" in check_format_prompt("no placeholder")[0]


@pytest.mark.django_db
def test_custom_format_prompt(user):
    ds = make_dataset(user, "prompt_answer")
    assert list(errors_of(user, payload("grpo", ds, format_prompt="custom"))) == ["format_prompt_template"]
    assert list(errors_of(user, payload("grpo", ds, format_prompt="custom", format_prompt_template="{% if %}"))) == [
        "format_prompt_template"]
    serializer, ok = validate(user, payload("grpo", ds, format_prompt="custom",
                                            format_prompt_template="{{ content }}\nAnswer in \\boxed{}."))
    assert ok, serializer.errors


@pytest.mark.django_db
def test_grpo_batch_arithmetic(user):
    ds = make_dataset(user, "prompt_answer")
    assert list(errors_of(user, payload("grpo", ds, rollout_batch_size=500))) == ["rollout_batch_size"]
    assert list(errors_of(user, payload("grpo", ds, mini_rollout_batch_size=100))) == ["mini_rollout_batch_size"]
    # ml.g6e.12xlarge has 4 GPUs: TP 3 does not divide them.
    assert list(errors_of(user, payload("grpo", ds, rollout_tensor_parallel_size=3))) == ["rollout_tensor_parallel_size"]
    assert list(errors_of(user, payload("grpo", ds, finetuning_method="qlora", quantization_bit=4))) == [
        "finetuning_method"]
    assert list(errors_of(user, payload("grpo", ds, precision="fp16"))) == ["precision"]


@pytest.mark.django_db
def test_datasets_must_be_usable_and_compatible(user, other_user):
    mine = make_dataset(user, "alpaca")
    theirs = make_dataset(other_user, "alpaca")
    shared = make_dataset(other_user, "alpaca", shared=True)
    pending = make_dataset(user, "alpaca", status="validating")
    prefs = make_dataset(user, "preference")

    errors = errors_of(user, payload("sft", mine, datasets=[mine.pk, theirs.pk]))
    assert list(errors) == ["datasets"] and str(theirs.pk) in errors["datasets"][0]
    assert "datasets" in errors_of(user, payload("sft", mine, datasets=[pending.pk]))
    errors = errors_of(user, payload("sft", mine, datasets=[prefs.pk]))
    assert "does not suit a sft job" in errors["datasets"][0]
    assert "datasets" in errors_of(user, payload("sft", mine, datasets=[]))
    assert "datasets" in errors_of(user, payload("sft", mine, datasets=["abc"]))
    serializer, ok = validate(user, payload("sft", mine, datasets=[shared.pk, mine.pk]))
    assert ok and serializer.spec.datasets == (shared.pk, mine.pk)


@pytest.mark.django_db
def test_grpo_family_takes_one_dataset(user):
    a, b = make_dataset(user, "prompt_answer"), make_dataset(user, "prompt_answer", name="b")
    assert list(errors_of(user, payload("grpo", a, datasets=[a.pk, b.pk]))) == ["datasets"]


@pytest.mark.django_db
def test_user_from_request_context(user, rf):
    ds = make_dataset(user)
    request = rf.post("/")
    request.user = user
    serializer = TrainingSpecSerializer(data=payload("sft", ds), context={"request": request})
    assert serializer.is_valid(), serializer.errors


@pytest.mark.django_db
def test_tracking_takes_a_secret_reference_never_a_key(user):
    from apps.users.models import UserSecret

    UserSecret.objects.create(owner=user, name="swan-main", kind="swanlab", value="s" * 24)
    ds = make_dataset(user)
    assert list(errors_of(user, payload("sft", ds, tracker="wandb"))) == ["tracker_key_ref"]
    raw_key = "0123456789abcdef0123456789abcdef01234567"
    errors = errors_of(user, payload("sft", ds, tracker="wandb", tracker_key_ref=raw_key))
    assert "not the key itself" in errors["tracker_key_ref"][0]
    assert raw_key not in str(errors)
    # A name from the context does not stand in for the user's own stored secrets.
    assert "tracker_key_ref" in errors_of(user, payload("sft", ds, tracker="wandb", tracker_key_ref="other"),
                                          secret_refs={"other"})
    serializer, ok = validate(user, payload("sft", ds, tracker="swanlab", tracker_key_ref="swan-main"))
    assert ok, serializer.errors
    assert serializer.spec.tracker_key_ref == "swan-main" and serializer.spec.tracker_project == "modelhub"
    out = TrainingSpecSerializer(serializer.spec).data
    assert out["tracker_key_ref"] == "swan-main" and out["job_type"] == "sft"


def test_without_a_user_context_secret_refs_are_the_known_names():
    from apps.jobs.spec.rules import SpecRules

    errors = []
    rules = SpecRules(user=None, secret_refs={"w"})
    rules.check_secret_ref("tracker_key_ref", "w", "wandb", lambda f, m: errors.append(f))
    rules.check_secret_ref("tracker_key_ref", "x", "wandb", lambda f, m: errors.append(f))
    assert errors == ["tracker_key_ref"]


@pytest.mark.django_db
def test_errors_are_field_level_and_collected(user):
    ds = make_dataset(user)
    errors = errors_of(user, payload("sft", ds, finetuning_method="qlora", quantization_bit=None, use_spot=True, max_run_hours=5,
                                     max_wait_hours=1, instance_type="ml.nope"))
    assert {"quantization_bit", "max_wait_hours", "instance_type"} <= set(errors)
    assert "non_field_errors" not in errors


def test_spec_properties():
    spec = TrainingSpec(job_type="rm", base_model="a/b", base_model_source="hf", base_model_uri="a/b",
                        finetuning_method="lora", lora_rank=16, lora_alpha=None, instance_count=2, gpus_per_node=4,
                        max_run_hours=1.5)
    assert not spec.needs_merge  # reward models stay adapters (PPO loads them as such)
    assert spec.effective_lora_alpha == 32 and spec.world_size == 8 and spec.max_run_seconds == 5400
    grpo = TrainingSpec(job_type="grpo", base_model="a/b", base_model_source="hf", base_model_uri="a/b",
                        finetuning_method="full")
    assert grpo.tool == "easyr1" and grpo.needs_merge and not grpo.is_multi_node
    assert TrainingSpec.from_dict({**grpo.to_dict(), "from_the_future": 1}) == grpo


@pytest.mark.django_db
@pytest.mark.parametrize("job_type", ALL_TYPES)
def test_form_defaults_validate_unchanged(user, job_type):
    """What the form pre-fills for a type is itself a valid spec (the user only adds model and data)."""
    ds = make_dataset(user, FORMAT_FOR[job_type])
    data = {**{k: v for k, v in defaults_for(job_type).items() if v is not None}, **payload(job_type, ds)}  # as the form posts
    serializer, ok = validate(user, data)
    assert ok, serializer.errors
    minimal, ok = validate(user, payload(job_type, ds))
    assert serializer.spec == minimal.spec  # omitted fields take exactly these defaults


@pytest.mark.django_db
def test_null_means_default_except_where_null_is_a_value(user):
    ds = make_dataset(user)
    serializer, ok = validate(user, payload("sft", ds, learning_rate=None, use_spot=None, lora_alpha=None,
                                            max_steps=None, deepspeed_stage=None))
    assert ok, serializer.errors
    spec = serializer.spec
    assert spec.learning_rate == defaults_for("sft")["learning_rate"] and spec.use_spot is False
    assert spec.lora_alpha is None and spec.effective_lora_alpha == 2 * spec.lora_rank
    assert spec.max_steps is None and spec.deepspeed_stage is None


@pytest.mark.django_db
def test_every_curated_catalog_model_is_accepted(user):
    """The catalog's chat templates are ones the spec (and LLaMA-Factory) knows, so no curated model is refused."""
    from apps.catalog.models import BaseModel
    from apps.jobs.renderers.llamafactory_schema import TEMPLATES

    curated = list(BaseModel.objects.filter(owner__isnull=True))
    assert curated, "the catalog seeds curated models"
    assert {m.template for m in curated} - {""} <= TEMPLATES  # "": the model's own chat template
    ds = make_dataset(user)
    model = curated[0]
    serializer, ok = validate(user, payload("sft", ds, base_model=model.key))
    assert ok, serializer.errors
    assert serializer.spec.template == model.template and serializer.spec.base_model_source == "catalog"


@pytest.mark.django_db
def test_tracker_key_ref_names_a_stored_secret_of_the_right_kind(user, other_user):
    from apps.users.models import UserSecret

    UserSecret.objects.create(owner=user, name="wandb-main", kind="wandb", value="w" * 40)
    UserSecret.objects.create(owner=user, name="swan", kind="swanlab", value="s" * 24)
    UserSecret.objects.create(owner=other_user, name="bobs-key", kind="wandb", value="b" * 40)
    ds = make_dataset(user)
    serializer, ok = validate(user, payload("sft", ds, tracker="wandb", tracker_key_ref="wandb-main"))
    assert ok, serializer.errors
    for ref in ("swan", "bobs-key", "missing"):  # wrong kind, someone else's, unknown
        errors = errors_of(user, payload("sft", ds, tracker="wandb", tracker_key_ref=ref))
        assert list(errors) == ["tracker_key_ref"] and "profile page" in errors["tracker_key_ref"][0]
    serializer, ok = validate(user, payload("sft", ds, tracker="swanlab", tracker_key_ref="swan"))
    assert ok, serializer.errors
    assert "w" * 40 not in str(TrainingSpecSerializer(serializer.spec).data)


@pytest.mark.django_db
def test_hf_token_ref_names_a_stored_hugging_face_token(user):
    from apps.users.models import UserSecret

    UserSecret.objects.create(owner=user, name="hf-main", kind="hf_token", value="hf_" + "a" * 34)
    UserSecret.objects.create(owner=user, name="wandb-main", kind="wandb", value="w" * 40)
    ds = make_dataset(user)
    serializer, ok = validate(user, payload("sft", ds, hf_token_ref="hf-main"))
    assert ok, serializer.errors
    assert serializer.spec.hf_token_ref == "hf-main"
    assert "profile page" in errors_of(user, payload("sft", ds, hf_token_ref="wandb-main"))["hf_token_ref"][0]
    errors = errors_of(user, payload("sft", ds, hf_token_ref="hf_" + "a" * 34))
    assert "not the token itself" in errors["hf_token_ref"][0] and "hf_" + "a" * 34 not in str(errors)


@pytest.mark.django_db
def test_validation_queries_do_not_grow_with_datasets(user):
    """One query for the datasets however many are chosen (plus the catalog model and secret lookups)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_base_model()
    sets = [make_dataset(user, name=f"d{i}") for i in range(10)]

    def count(n):
        data = payload("sft", sets[0], base_model="mh-test-model", datasets=[d.pk for d in sets[:n]])
        with CaptureQueriesContext(connection) as queries:
            serializer, ok = validate(user, data)
        assert ok, serializer.errors
        return len(queries)

    count(1)  # warm caches (the user's groups)
    assert count(1) == count(10) <= 3
