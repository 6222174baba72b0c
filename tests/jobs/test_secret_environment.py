"""The container receives exactly the stored secrets a spec names, by variable, and nothing else."""

import pytest

from apps.jobs.bundle import secret_environment, training_spec
from apps.users.stored_secrets import MissingSecret
from apps.users.models import UserSecret

from .factories import make_job

pytestmark = pytest.mark.django_db


def environment(job):
    return secret_environment(job, training_spec(job))


def test_tracker_key_and_hf_token_reach_the_container(user):
    UserSecret.objects.create(owner=user, name="wb", kind="wandb", value="wandb-key-0123456789")
    UserSecret.objects.create(owner=user, name="hf", kind="hf_token", value="hf_token_0123456789")
    UserSecret.objects.create(owner=user, name="unused", kind="swanlab", value="swan-0123456789")
    job = make_job(user, spec={"tracker": "wandb", "tracker_key_ref": "wb", "hf_token_ref": "hf"})
    assert environment(job) == {"WANDB_API_KEY": "wandb-key-0123456789", "HF_TOKEN": "hf_token_0123456789"}


def test_no_reference_no_secret(user):
    UserSecret.objects.create(owner=user, name="wb", kind="wandb", value="wandb-key-0123456789")
    assert environment(make_job(user)) == {}


def test_another_users_secret_of_the_same_name_is_never_used(user, other_user):
    UserSecret.objects.create(owner=other_user, name="hf", kind="hf_token", value="hf_theirs_0123456789")
    job = make_job(user, spec={"hf_token_ref": "hf"})
    with pytest.raises(MissingSecret, match="'hf'"):
        environment(job)
