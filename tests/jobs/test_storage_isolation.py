"""Jobs and endpoints cannot reach into other users' job outputs in ModelHub's storage (issue #15): a base model,
a checkpoint to resume, a PPO reward model, an endpoint's model and its LoRA adapters that lie inside ModelHub's
storage must be the user's own job outputs (or dataset folders), or shared with them; admins may use any."""

import pytest
from django.contrib.auth.models import Group

from apps.endpoints.models import Endpoint
from apps.jobs.models import Status, TrainingJob
from apps.users.shares import share
from tests.conftest import _client_for, make_user

from .factories import make_dataset, make_job, valid_spec

pytestmark = pytest.mark.django_db
ALICE_ROOT = "s3://modelhub-test/modelhub/jobs/alice-run-1/"
OUTSIDE = "s3://bobs-own-bucket/models/merged/"
REFUSED = "inside ModelHub's own storage"


@pytest.fixture
def world(settings, fake_training, fake_serving, inline_tasks):
    settings.S3_BUCKET, settings.S3_PREFIX = "modelhub-test", "modelhub"
    alice, bob = make_user("alice"), make_user("bob")
    job = make_job(alice, name="alice-run", status=Status.SUCCEEDED, output_uri=ALICE_ROOT)
    return {"alice": alice, "bob": bob, "job": job}


def job_request(user, **spec):
    return {**valid_spec("sft", make_dataset(user, "alpaca", staged=True)), **spec}


def post_job(user, **spec):
    return _client_for(user).post("/api/v1/jobs/", job_request(user, **spec), format="json")


@pytest.mark.parametrize("field, uri", [
    ("base_model", ALICE_ROOT + "merged/"),
    ("base_model", "s3://modelhub-test/modelhub/j"),  # a shorter string prefix lists everyone's jobs
    ("resume_from_checkpoint", ALICE_ROOT + "checkpoints/checkpoint-100/"),
])
def test_a_job_cannot_point_into_another_users_job_output(world, field, uri):
    response = post_job(world["bob"], **{field: uri})
    assert response.status_code == 400, response.json()
    assert REFUSED in " ".join(response.json()["errors"][field])
    assert not TrainingJob.objects.filter(owner=world["bob"]).exists()


def test_a_ppo_reward_model_cannot_be_another_users_job_output(world):
    request = {**valid_spec("ppo", make_dataset(world["bob"], "alpaca", staged=True)), "reward_model": ALICE_ROOT + "merged/"}
    response = _client_for(world["bob"]).post("/api/v1/jobs/", request, format="json")
    assert response.status_code == 400
    assert REFUSED in " ".join(response.json()["errors"]["reward_model"])


@pytest.mark.parametrize("who", ["owner", "admin", "shared", "outside"])
def test_own_shared_and_outside_locations_are_allowed(world, who):
    user, uri = world["alice"], ALICE_ROOT + "merged/"
    if who == "admin":
        user = make_user("root", group="admin")
    elif who == "shared":
        user, team = world["bob"], Group.objects.create(name="team")
        world["alice"].groups.add(team)
        user.groups.add(team)
        share(world["job"], team, by=world["alice"])
    elif who == "outside":
        user, uri = world["bob"], OUTSIDE
    response = post_job(user, base_model=uri)
    assert response.status_code == 201, response.json()


def test_the_job_form_shows_the_same_error_on_its_field(world):
    from apps.jobs.forms import JobForm

    form = JobForm({**job_request(world["bob"]), "base_model": ALICE_ROOT + "merged/"}, job_type="sft", user=world["bob"])
    assert form.validate(world["bob"]) is None
    assert REFUSED in " ".join(form.errors["base_model"])


def deploy(user, **body):
    request = {"source": "s3", "model_uri": OUTSIDE, "instance_type": "ml.g5.2xlarge", "max_model_len": 4096, **body}
    return _client_for(user).post("/api/v1/endpoints/", request, format="json")


def test_an_endpoint_cannot_serve_another_users_job_output(world):
    response = deploy(world["bob"], model_uri=ALICE_ROOT + "merged/")
    assert response.status_code == 400, response.json()
    assert REFUSED in " ".join(response.json()["errors"]["model_uri"])
    assert not Endpoint.objects.filter(owner=world["bob"]).exists()


def test_an_adapter_cannot_come_from_another_users_job_output(world):
    response = deploy(world["bob"], lora_adapters=[{"name": "stolen", "source": ALICE_ROOT + "adapter/"}])
    assert response.status_code == 400, response.json()
    assert "stolen: " in response.json()["errors"]["lora_adapters"][0]
    assert not Endpoint.objects.filter(owner=world["bob"]).exists()


def test_the_owner_deploys_her_output_and_adapters(world):
    response = deploy(world["alice"], model_uri=ALICE_ROOT + "merged/",
                      lora_adapters=[{"name": "mine", "source": ALICE_ROOT + "adapter/"}])
    assert response.status_code == 201, response.json()
