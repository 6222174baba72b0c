"""An endpoint's LoRA adapters on its page (name, source, the model id that selects it) and in the API."""

import pytest
from django.urls import reverse

from apps.endpoints.models import Endpoint, Status

from .factories import make_endpoint, spec_dict

pytestmark = pytest.mark.django_db
URL = "/api/v1/endpoints/"
ADAPTER = {"name": "sql", "source": "s3://b/jobs/43/adapter/"}


def test_an_adapter_deployed_through_the_api_is_listed_in_its_representation(user_api, small_model, fake_serving,
                                                                             inline_tasks):
    response = user_api.post(URL, {"source": "catalog", "base_model": small_model.key, "instance_type": "ml.g5.2xlarge",
                                   "engine": "vllm", "name": "support-bot", "lora_adapters": [ADAPTER]}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["lora_adapters"] == [{**ADAPTER, "model": "support-bot:sql"}]
    endpoint = Endpoint.objects.get(name="support-bot")
    assert user_api.get(f"{URL}{endpoint.pk}/").json()["lora_adapters"] == [{**ADAPTER, "model": "support-bot:sql"}]


def test_an_endpoint_without_adapters_lists_none(user_api, user):
    endpoint = make_endpoint(user, name="plain")
    assert user_api.get(f"{URL}{endpoint.pk}/").json()["lora_adapters"] == []


def test_the_endpoint_page_lists_each_adapter_with_its_model_id(client, user):
    adapters = [ADAPTER, {"name": "support", "source": "s3://b/jobs/44/adapter/"}]
    endpoint = make_endpoint(user, name="bot", status=Status.IN_SERVICE,
                             spec=spec_dict("ml.g5.2xlarge", lora_adapters=adapters))
    client.force_login(user)
    html = client.get(reverse("endpoints:detail", args=[endpoint.pk])).content.decode()
    assert "LoRA adapters" in html
    for adapter in adapters:
        assert f'<span class="mono" data-adapter-model>bot:{adapter["name"]}</span>' in html
        assert adapter["source"] in html
        assert f'?model=bot%3A{adapter["name"]}">Open in playground' in html


def test_the_endpoint_page_has_no_adapter_card_without_adapters(client, user):
    endpoint = make_endpoint(user, name="plain")
    client.force_login(user)
    assert "LoRA adapters" not in client.get(reverse("endpoints:detail", args=[endpoint.pk])).content.decode()
