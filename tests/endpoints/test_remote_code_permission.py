"""Serving a model's own code (trust_remote_code) needs the same permission as training with it: an admin, or a
member of a group whose policy allows it; otherwise a field error and nothing is deployed."""

import pytest

from apps.endpoints.models import Endpoint
from tests.conftest import _client_for, grant_group_policy, make_user

pytestmark = pytest.mark.django_db
REQUEST = {"source": "s3", "model_uri": "s3://own-bucket/glm/", "instance_type": "ml.g5.2xlarge",
           "max_model_len": 4096, "trust_remote_code": True}


def test_a_user_without_the_permission_is_refused(user, fake_serving, inline_tasks):
    response = _client_for(user).post("/api/v1/endpoints/", REQUEST, format="json")
    assert response.status_code == 400
    assert "An administrator must enable this" in response.json()["errors"]["trust_remote_code"][0]
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize("who", ["group", "admin"])
def test_a_permitted_user_deploys_it(user, fake_serving, inline_tasks, who):
    if who == "group":
        grant_group_policy(user, allow_trust_remote_code=True)
    else:
        user = make_user("root", group="admin")
    response = _client_for(user).post("/api/v1/endpoints/", REQUEST, format="json")
    assert response.status_code == 201, response.json()
    assert Endpoint.objects.get().spec["trust_remote_code"] is True
