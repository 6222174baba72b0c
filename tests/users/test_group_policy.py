"""Group policies (issue #15, isolation): which execution role a user's runs assume, and who may run a model's
own code (trust_remote_code) or custom reward code — on the spec, the API and the form."""

import pytest
import yaml
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import Client

from apps.jobs.models import TrainingJob
from apps.jobs.renderers import render_job_bundle
from apps.jobs.spec import TrainingSpecSerializer
from apps.users.models import GroupPolicy, execution_role_for, may_run_custom_reward_code, may_trust_remote_code
from tests.conftest import grant_group_policy
from tests.jobs.factories import make_dataset, valid_spec
from tests.jobs.test_render_golden import CONTEXT, dataset_refs
from tests.jobs.test_spec import GOOD_REWARD

pytestmark = pytest.mark.django_db
ROLE_A = "arn:aws:iam::123456789012:role/modelhub-team-a"
ROLE_B = "arn:aws:iam::123456789012:role/modelhub-team-b"
NEEDS_ADMIN = "An administrator must enable this for one of your groups"


def validate(user, data):
    serializer = TrainingSpecSerializer(data=data, context={"user": user})
    return serializer, serializer.is_valid()


def test_a_user_without_a_group_role_gets_none_so_the_target_uses_its_default(user):
    assert execution_role_for(user) is None
    grant_group_policy(user, "no-role", allow_trust_remote_code=True)  # a policy with no role does not count
    assert execution_role_for(user) is None


def test_the_role_of_the_lowest_id_group_with_one_wins(user, other_user):
    first = grant_group_policy(user, "team-a", execution_role_arn=ROLE_A)
    grant_group_policy(user, "team-b", execution_role_arn=ROLE_B)
    assert first.group_id < Group.objects.get(name="team-b").pk
    assert execution_role_for(user) == ROLE_A
    user.groups.remove(first.group)
    assert execution_role_for(user) == ROLE_B
    assert execution_role_for(other_user) is None  # another user's groups are not theirs


@pytest.mark.parametrize("arn", ["arn:aws:iam::123:role/x", "arn:aws:s3:::bucket", "role/x",
                                 "arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:role/"])
def test_execution_role_must_look_like_an_iam_role_arn(arn):
    policy = GroupPolicy(group=Group.objects.create(name="g"), execution_role_arn=arn)
    with pytest.raises(ValidationError) as error:
        policy.full_clean()
    assert "execution_role_arn" in error.value.message_dict
    GroupPolicy(group=policy.group, execution_role_arn=ROLE_A).full_clean()  # a well-formed one passes
    GroupPolicy(group=policy.group, execution_role_arn="arn:aws-cn:iam::123456789012:role/path/r").full_clean()


def test_code_permissions_come_from_admin_or_a_group_that_allows_them(user, admin_user):
    assert not may_trust_remote_code(user) and not may_run_custom_reward_code(user)
    assert may_trust_remote_code(admin_user) and may_run_custom_reward_code(admin_user)
    grant_group_policy(user, "remote", allow_trust_remote_code=True)
    assert may_trust_remote_code(user) and not may_run_custom_reward_code(user)
    grant_group_policy(user, "rewards", allow_custom_reward_code=True)
    assert may_run_custom_reward_code(user)


# --- the spec ---------------------------------------------------------------------------------------

def sft(user, **overrides):
    return {**valid_spec("sft", make_dataset(user, "alpaca")), **overrides}


def grpo(user, **overrides):
    return {**valid_spec("grpo", make_dataset(user, "prompt_answer")), **overrides}


def test_trust_remote_code_is_off_by_default_and_rendered_off(user):
    serializer, ok = validate(user, sft(user, finetuning_method="lora"))
    assert ok, serializer.errors
    assert serializer.spec.trust_remote_code is False
    files = render_job_bundle(serializer.spec, {**CONTEXT, "datasets": dataset_refs("sft", False)})
    assert yaml.safe_load(files["train.yaml"])["trust_remote_code"] is False
    assert yaml.safe_load(files["merge.yaml"])["trust_remote_code"] is False


def test_trust_remote_code_needs_a_group_that_allows_it(user):
    serializer, ok = validate(user, sft(user, trust_remote_code=True))
    assert not ok and list(serializer.errors) == ["trust_remote_code"]
    assert NEEDS_ADMIN in str(serializer.errors["trust_remote_code"][0])
    grant_group_policy(user, "rewards-only", allow_custom_reward_code=True)  # the other permission is not enough
    assert not validate(user, sft(user, trust_remote_code=True))[1]
    grant_group_policy(user, "remote", allow_trust_remote_code=True)
    serializer, ok = validate(user, sft(user, trust_remote_code=True))
    assert ok, serializer.errors
    files = render_job_bundle(serializer.spec, {**CONTEXT, "datasets": dataset_refs("sft", False)})
    assert yaml.safe_load(files["train.yaml"])["trust_remote_code"] is True
    assert yaml.safe_load(files["merge.yaml"])["trust_remote_code"] is True


def test_admins_may_trust_remote_code_and_easyr1_renders_it(admin_user):
    serializer, ok = validate(admin_user, grpo(admin_user, trust_remote_code=True))
    assert ok, serializer.errors
    files = render_job_bundle(serializer.spec, {**CONTEXT, "datasets": dataset_refs("grpo", False)})
    config = yaml.safe_load(files["easyr1.yaml"])
    assert config["worker"]["actor"]["model"]["trust_remote_code"] is True


def test_custom_reward_code_needs_a_group_that_allows_it(user):
    serializer, ok = validate(user, grpo(user, reward_function="custom", reward_code=GOOD_REWARD))
    assert not ok and list(serializer.errors) == ["reward_code"]
    assert NEEDS_ADMIN in str(serializer.errors["reward_code"][0])
    assert validate(user, grpo(user, reward_function="math"))[1]  # built-in rewards need no permission
    grant_group_policy(user, "rewards", allow_custom_reward_code=True)
    serializer, ok = validate(user, grpo(user, reward_function="custom", reward_code=GOOD_REWARD))
    assert ok, serializer.errors


# --- the API and the form ---------------------------------------------------------------------------

def test_api_refuses_remote_code_and_custom_rewards_with_field_errors_and_creates_nothing(user, user_api, fake_training):
    response = user_api.post("/api/v1/jobs/", {**sft(user, trust_remote_code=True), "target": "fake"}, format="json")
    assert response.status_code == 400
    assert NEEDS_ADMIN in response.json()["errors"]["trust_remote_code"][0]
    body = {**grpo(user, reward_function="custom", reward_code=GOOD_REWARD), "target": "fake"}
    response = user_api.post("/api/v1/jobs/", body, format="json")
    assert response.status_code == 400
    assert NEEDS_ADMIN in response.json()["errors"]["reward_code"][0]
    assert not TrainingJob.objects.exists()
    grant_group_policy(user)
    response = user_api.post("/api/v1/jobs/", body, format="json")
    assert response.status_code == 201, response.json()


def test_form_shows_the_permission_error_on_the_field(user, fake_training):
    web = Client()
    web.force_login(user)
    post = {"name": "x", "job_type": "sft", "base_model": "Qwen/Qwen3-0.6B", "template": "qwen3",
            "datasets": [make_dataset(user, "alpaca").pk], "target": "fake", "trust_remote_code": "on"}
    response = web.post("/jobs/new", post)
    page = response.content.decode()
    assert response.status_code == 400 and NEEDS_ADMIN in page
    assert not TrainingJob.objects.exists()
    grant_group_policy(user, allow_trust_remote_code=True)
    response = web.post("/jobs/new", post)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert TrainingJob.objects.get().spec["trust_remote_code"] is True


def test_admins_edit_group_policies_in_the_django_admin_and_a_bad_arn_is_refused(admin_user):
    admin_user.is_superuser = True
    admin_user.save()
    web = Client()
    web.force_login(admin_user)
    group = Group.objects.create(name="team-a")
    form = {"group": group.pk, "execution_role_arn": "arn:aws:s3:::not-a-role", "allow_custom_reward_code": "on"}
    response = web.post("/admin/users/grouppolicy/add/", form)
    assert response.status_code == 200 and "Enter an IAM role ARN" in response.content.decode()
    assert not GroupPolicy.objects.exists()
    response = web.post("/admin/users/grouppolicy/add/", {**form, "execution_role_arn": ROLE_A})
    assert response.status_code == 302
    policy = GroupPolicy.objects.get()
    assert (policy.group, policy.execution_role_arn, policy.allow_custom_reward_code, policy.allow_trust_remote_code) \
        == (group, ROLE_A, True, False)
