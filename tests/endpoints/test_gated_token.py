"""Gated models deploy with the owner's stored Hugging Face token, read at deploy time through the same
secret path as training (apps/users/stored_secrets.py), handed to the target in `Deployment.secrets` only:
never in the rendered environment, the endpoint's page, its API output, its events or the logs."""

import logging

import pytest

from apps.endpoints.deployment import deployment
from apps.endpoints.models import Endpoint, Status
from apps.endpoints.tasks import deploy_endpoint, update_endpoint
from apps.users.models import UserSecret
from apps.users.stored_secrets import MissingSecret
from tests.conftest import make_user

from .factories import make_endpoint, spec_dict

pytestmark = pytest.mark.django_db
TOKEN = "hf_" + "gatedSecretValue" * 2
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def gated_endpoint(owner, **spec):
    return make_endpoint(owner, source="hf", model_uri=LLAMA, served_model_name="llama",
                         spec=spec_dict(hf_token_ref="hf-main", **spec))


@pytest.fixture
def alice():
    user = make_user("alice")
    UserSecret.objects.create(owner=user, name="hf-main", kind="hf_token", value=TOKEN)
    return user


def test_the_owners_token_travels_as_a_secret_not_as_rendered_environment(alice):
    request = deployment(gated_endpoint(alice))
    assert request.secrets["HF_TOKEN"] == TOKEN
    assert "HF_TOKEN" not in request.environment
    assert TOKEN not in repr(request)


def test_an_endpoint_without_a_token_reference_gets_no_token(alice):
    assert "HF_TOKEN" not in deployment(make_endpoint(alice)).secrets


def test_another_users_secret_of_the_same_name_is_never_used(alice):
    bob = make_user("bob")
    UserSecret.objects.create(owner=bob, name="hf-main", kind="hf_token", value="hf_bobs_token_value_123")
    endpoint = gated_endpoint(alice)
    assert deployment(endpoint).secrets["HF_TOKEN"] == TOKEN
    UserSecret.objects.filter(owner=alice).delete()
    with pytest.raises(MissingSecret, match="'hf-main'"):
        deployment(endpoint)


def test_deploy_hands_the_token_to_the_target_and_shows_it_nowhere(alice, fake_serving, client, caplog):
    endpoint = gated_endpoint(alice)
    with caplog.at_level(logging.DEBUG):
        deploy_endpoint(endpoint.pk)
    endpoint.refresh_from_db()
    assert endpoint.status == Status.CREATING
    assert fake_serving.endpoints[endpoint.remote_name].deployment.secrets["HF_TOKEN"] == TOKEN

    client.force_login(alice)
    page = client.get(f"/endpoints/{endpoint.pk}/").content.decode()
    api = client.get(f"/api/v1/endpoints/{endpoint.pk}/").content.decode()
    events = " ".join(str(e.message) + str(e.data) for e in endpoint.events.all())
    assert "hf-main" in page  # the secret's name is shown, its value never
    for text in (page, api, events, caplog.text, str(Endpoint.objects.get(pk=endpoint.pk).spec)):
        assert TOKEN not in text


def test_a_token_deleted_before_deploy_fails_the_endpoint_with_what_to_do(alice, fake_serving):
    endpoint = gated_endpoint(alice)
    UserSecret.objects.filter(owner=alice).delete()
    deploy_endpoint(endpoint.pk)
    endpoint.refresh_from_db()
    assert endpoint.status == Status.FAILED
    assert "'hf-main'" in endpoint.status_reason and "profile page" in endpoint.status_reason
    assert fake_serving.endpoints == {}  # nothing created remotely


def test_a_token_deleted_while_serving_leaves_the_endpoint_serving(alice, fake_serving):
    endpoint = gated_endpoint(alice)
    deploy_endpoint(endpoint.pk)
    UserSecret.objects.filter(owner=alice).delete()
    Endpoint.objects.filter(pk=endpoint.pk).update(status=Status.UPDATING)
    update_endpoint(endpoint.pk)
    endpoint.refresh_from_db()
    assert endpoint.status == Status.IN_SERVICE
    assert endpoint.events.filter(level="error", message__contains="not applied").exists()
