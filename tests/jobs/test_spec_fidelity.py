"""Issue #13's training examples, each a regression test: a spec LLaMA-Factory 0.9.4 or EasyR1 b44b311
would refuse or misread is a field error before anything is created; and the one validation shape
(`validate_job`): unknown fields refused, `true` is not a number."""

import pytest

from apps.jobs.renderers import easyr1_schema
from apps.jobs.renderers import llamafactory_schema as lf
from apps.jobs.serializers import validate_job
from apps.jobs.spec import BOOSTERS, TRACKERS

from .test_spec import GOOD_REWARD, errors_of, make_base_model, make_dataset, payload, validate
from tests.conftest import grant_group_policy

pytestmark = pytest.mark.django_db


def test_templates_are_those_of_the_pinned_llamafactory_version(user):
    assert lf.VERSION == "0.9.4"
    assert "phi4_mini" not in lf.TEMPLATES  # added after 0.9.4: "Template phi4_mini does not exist."
    assert {"qwen3", "qwen3_nothink", "llama3", "gemma3", "phi4", "gpt_oss", "smollm2"} <= lf.TEMPLATES
    errors = errors_of(user, payload("sft", make_dataset(user), template="phi4_mini"))
    assert list(errors) == ["template"] and "0.9.4" in str(errors["template"][0])


def test_a_catalog_template_the_version_lacks_is_refused_not_passed_on(user):
    make_base_model("phi-mini-test", template="phi4_mini")
    errors = errors_of(user, payload("sft", make_dataset(user), base_model="phi-mini-test"))
    assert list(errors) == ["template"]


def test_the_curated_phi4_mini_uses_its_own_chat_template(user):
    serializer, ok = validate(user, payload("sft", make_dataset(user), base_model="phi-4-mini-instruct"))
    assert ok, serializer.errors
    assert serializer.spec.template is None  # LLaMA-Factory parses the tokenizer's chat template


def test_boosters_and_trackers_the_image_does_not_install_are_not_offered(user):
    assert "unsloth" not in BOOSTERS
    ds = make_dataset(user)
    assert list(errors_of(user, payload("sft", ds, booster="unsloth"))) == ["booster"]
    # What is offered needs a package the image installs (checked against the Dockerfile in tests/docker).
    assert "liger-kernel" in lf.IMAGE_PACKAGES and "bitsandbytes" in lf.IMAGE_PACKAGES
    assert {t for t in TRACKERS if t != "none"} <= set(lf.IMAGE_PACKAGES)
    assert {"swanlab", "tensorboard"} <= set(easyr1_schema.IMAGE_PACKAGES)  # wandb is in the EasyR1 base image


@pytest.mark.parametrize("method", ["lora", "qlora", "full"])
def test_ppo_cannot_resume_at_all(user, method):
    ds = make_dataset(user, "sharegpt")
    extra = {"quantization_bit": 4} if method == "qlora" else {}
    errors = errors_of(user, payload("ppo", ds, finetuning_method=method, resume_from_checkpoint="s3://bk1/c/x/",
                                     **extra))
    assert "resume_from_checkpoint" in errors
    spot = errors_of(user, payload("ppo", ds, finetuning_method=method, use_spot=True, max_wait_hours=48, **extra))
    assert "use_spot" in spot


def test_full_reward_modelling_resume_would_be_ignored_so_it_is_refused(user):
    ds = make_dataset(user, "preference")
    assert "resume_from_checkpoint" in errors_of(
        user, payload("rm", ds, finetuning_method="full", resume_from_checkpoint="s3://bk1/c/x/"))
    assert "use_spot" in errors_of(user, payload("rm", ds, finetuning_method="full", use_spot=True, max_wait_hours=48))
    serializer, ok = validate(user, payload("rm", ds, resume_from_checkpoint="s3://bk1/c/x/"))  # LoRA RM resumes
    assert ok, serializer.errors


def test_resume_uri_longer_than_a_sagemaker_environment_value_is_refused(user):
    ds = make_dataset(user)
    long_uri = "s3://bk1/" + "a" * 503 + "/"
    assert len(long_uri) == 513
    assert list(errors_of(user, payload("sft", ds, resume_from_checkpoint=long_uri))) == ["resume_from_checkpoint"]
    serializer, ok = validate(user, payload("sft", ds, resume_from_checkpoint=long_uri[:511] + "/"))
    assert ok, serializer.errors


def r1(user, job_type="grpo", **extra):
    return payload(job_type, make_dataset(user, "prompt_answer"), **extra)


def test_grpo_needs_more_than_one_rollout(user):
    assert "rollout_n" in errors_of(user, r1(user, rollout_n=1))


def test_micro_batch_for_update_must_divide_the_batch_per_device(user):
    # ml.g6e.12xlarge: 4 GPUs; 128 prompts × 5 rollouts / 4 GPUs = 160 per GPU, which 3 does not divide.
    errors = errors_of(user, r1(user, micro_batch_size_per_device_for_update=3))
    assert list(errors) == ["micro_batch_size_per_device_for_update"]
    serializer, ok = validate(user, r1(user, micro_batch_size_per_device_for_update=4))
    assert ok, serializer.errors


def test_micro_batch_for_experience_must_divide_rollouts(user):
    errors = errors_of(user, r1(user, rollout_batch_size=128, rollout_n=5, micro_batch_size_per_device_for_experience=3))
    assert list(errors) == ["micro_batch_size_per_device_for_experience"]


@pytest.mark.parametrize("low", [1.0, 1.5])
def test_clip_ratio_low_of_one_or_more_is_refused(user, low):
    assert list(errors_of(user, r1(user, clip_ratio_low=low))) == ["clip_ratio_low"]


def test_custom_reward_with_online_filtering_must_return_overall(user):
    grant_group_policy(user, allow_custom_reward_code=True)
    no_overall = 'REWARD_TYPE = "batch"\n\ndef compute_score(inputs):\n    return [{"accuracy": 1.0} for _ in inputs]\n'
    errors = errors_of(user, r1(user, "dapo", reward_function="custom", reward_code=no_overall))
    assert list(errors) == ["reward_code"] and "overall" in str(errors["reward_code"][0])
    serializer, ok = validate(user, r1(user, "dapo", reward_function="custom", reward_code=no_overall,
                                       online_filtering=False))
    assert ok, serializer.errors
    serializer, ok = validate(user, r1(user, "dapo", reward_function="custom", reward_code=GOOD_REWARD))
    assert ok, serializer.errors


def test_keep_all_checkpoints_renders_as_easyr1_keep_all(user):
    from apps.jobs.renderers import easyr1

    serializer, ok = validate(user, r1(user, save_total_limit=None))
    assert ok, serializer.errors
    assert serializer.spec.save_total_limit is None
    config = easyr1.config(serializer.spec, _context())
    assert config["trainer"]["save_limit"] == -1  # EasyR1: -1 keeps every checkpoint (3 would prune)
    assert easyr1_schema.startup_problems(config) == []


def _context():
    from apps.jobs.renderers.context import DatasetRef, job_context

    return job_context({"job_id": 1, "job_name": "mh-x-1", "output_uri": "s3://b1/o/", "checkpoint_uri": "s3://b1/c/",
                             "config_uri": "s3://b1/k/", "datasets": [DatasetRef(name="d", easyr1={"train_files": "t"})]})


def test_gated_models_need_the_owners_hugging_face_token(user):
    from apps.users.models import UserSecret

    ds = make_dataset(user)
    for base in ("llama-3-1-8b-instruct", "meta-llama/Llama-3.1-8B-Instruct", "gemma-3-1b-it"):
        assert list(errors_of(user, payload("sft", ds, base_model=base))) == ["hf_token_ref"], base
    UserSecret.objects.create(owner=user, name="hf-main", kind="hf_token", value="hf_" + "x" * 30)
    serializer, ok = validate(user, payload("sft", ds, base_model="llama-3-1-8b-instruct", hf_token_ref="hf-main"))
    assert ok, serializer.errors
    serializer, ok = validate(user, payload("sft", ds, base_model="s3://bk1/models/llama/"))  # a copy: no token
    assert ok, serializer.errors


@pytest.mark.parametrize("repo", ["Qwen/Qwen3--0.6B", "Qwen/Qwen3..0.6B", "Qwen/Qwen3-0.6B.git", "-Qwen/x", "Qwen/x-"])
def test_repo_ids_the_hub_refuses_are_refused(user, repo):
    assert "base_model" in errors_of(user, payload("sft", make_dataset(user), base_model=repo))


@pytest.mark.parametrize("field,value", [("lora_rank", True), ("learning_rate", True), ("instance_count", False),
                                         ("quantization_bit", True), ("deepspeed_stage", False), ("offload", "yes"),
                                         ("use_spot", 1)])
def test_types_are_strict(user, field, value):
    assert field in errors_of(user, payload("sft", make_dataset(user), **{field: value}))


def test_validate_job_refuses_unknown_fields_and_returns_one_shape(user):
    ds = make_dataset(user)
    result = validate_job({"name": "x", **payload("sft", ds), "lora_rnak": 16, "learning_rate": True}, user)
    assert not result.ok and result.value is None
    assert set(result.errors) == {"lora_rnak", "learning_rate"}
    assert all(isinstance(m, str) for messages in result.errors.values() for m in messages)
    result = validate_job({"name": " run 1 ", **payload("sft", ds)}, user)
    assert result.ok and result.value.name == "run 1" and result.value.spec.job_type == "sft"
    assert result.or_raise() is result.value


def test_the_job_form_offers_stored_tokens_and_shows_the_gated_error_on_its_field(user):
    from apps.jobs.forms import JobForm
    from apps.users.models import UserSecret

    UserSecret.objects.create(owner=user, name="hf-main", kind="hf_token", value="hf_" + "x" * 30)
    ds = make_dataset(user)
    post = {"name": "gated", "job_type": "sft", "base_model": "llama-3-1-8b-instruct", "datasets": [str(ds.pk)]}
    form = JobForm(post, job_type="sft", user=user)
    assert ("hf-main", "hf-main") in form.fields["hf_token_ref"].choices
    assert form.validate(user) is None and "hf_token_ref" in form.errors
    form = JobForm({**post, "hf_token_ref": "hf-main"}, job_type="sft", user=user)
    new = form.validate(user)
    assert new is not None, form.errors
    assert new.spec.hf_token_ref == "hf-main"
