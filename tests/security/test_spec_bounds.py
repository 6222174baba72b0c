"""Hostile values in job specs and ids are field errors or 404s, never 500s (issue #15)."""

import pytest

from apps.jobs.models import TrainingJob
from tests.jobs.factories import make_dataset, valid_spec
from tests.conftest import grant_group_policy

pytestmark = pytest.mark.django_db

HUGE_EXPRESSION = "def compute_score(x):\n    return " + " + ".join(["1"] * 20_000) + "\nREWARD_TYPE = 'batch'\n"
DEEP_TEMPLATE = "{% if a %}" * 3_000 + "{{ content }}" + "{% endif %}" * 3_000


def grpo_spec(user, **overrides):
    return valid_spec("grpo", make_dataset(user, "prompt_answer")) | overrides


def test_a_20000_term_reward_expression_is_a_field_error(user, user_api):
    grant_group_policy(user, allow_custom_reward_code=True)  # so the error is about the expression
    response = user_api.post("/api/v1/jobs/", grpo_spec(user, reward_function="custom", reward_code=HUGE_EXPRESSION),
                             format="json")
    assert response.status_code == 400, response.content[:300]
    assert "administrator" not in str(response.json()["errors"]["reward_code"])
    assert not TrainingJob.objects.exists()


def test_a_template_with_3000_nested_blocks_is_a_field_error(user, user_api):
    response = user_api.post("/api/v1/jobs/", grpo_spec(user, format_prompt="custom", format_prompt_template=DEEP_TEMPLATE),
                             format="json")
    assert response.status_code == 400, response.content[:300]
    assert "format_prompt_template" in response.json()["errors"]


@pytest.mark.parametrize("value", ["²", "①", "9" * 40])
def test_non_ascii_or_huge_dataset_ids_are_field_errors(user, user_api, value):
    response = user_api.post("/api/v1/jobs/", valid_spec("sft", make_dataset(user, "alpaca")) | {"datasets": [value]},
                             format="json")
    assert response.status_code == 400
    assert "datasets" in response.json()["errors"]


@pytest.mark.parametrize("value", ["²", "9" * 40])
def test_cloning_from_a_strange_id_is_not_an_error(client, user, value):
    client.force_login(user)
    assert client.get("/jobs/new", {"from": value}).status_code == 200
    assert client.get("/jobs/compare", {"ids": f"{value},1"}).status_code == 200
