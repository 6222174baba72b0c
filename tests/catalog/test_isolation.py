"""Registrations cannot reach into other users' data in ModelHub's storage (issue #15's shorter prefixes)."""

import pytest

from apps.catalog.models import Dataset

from .test_staging import upload


@pytest.fixture
def alices_upload_in_s3(s3, user, settings):
    settings.DATASET_STORE = "s3"
    dataset = upload(user, "Secret rows", "good/kto.jsonl")
    assert dataset.status == "ready" and dataset.storage_uri.startswith("s3://modelhub-test/modelhub/datasets/")
    return dataset


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", [
    "s3://modelhub-test/modelhub/d", "s3://modelhub-test/modelhub/dataset", "s3://modelhub-test/modelhub/datasets/",
    "s3://modelhub-test/modelhub/", "s3://modelhub-test/", "s3://modelhub-test/mod",
])
def test_another_user_cannot_register_a_prefix_of_modelhubs_storage(alices_upload_in_s3, other_user, prefix):
    from rest_framework.test import APIClient

    from apps.users.models import ApiToken

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(other_user, 't')[1]}")
    response = api.post("/api/v1/datasets/", {"name": "peek", "source": "s3", "source_uri": prefix}, format="json")
    assert response.status_code == 400, response.json()
    message = response.json()["errors"]["source_uri"][0]
    assert "inside ModelHub's own storage" in message or "Enter an S3 prefix" in message  # a bucket alone
    assert not Dataset.objects.filter(owner=other_user).exists()


@pytest.mark.django_db
def test_a_users_own_bucket_is_still_registered_and_validated(s3, user_api):
    s3.put_object(Bucket="user-data", Key="team/rows.jsonl", Body=b'{"text": "mine"}\n')
    response = user_api.post("/api/v1/datasets/", {"name": "mine", "source": "s3",
                                                   "source_uri": "s3://user-data/team/"}, format="json")
    assert response.status_code == 201 and Dataset.objects.get(pk=response.json()["id"]).status == "ready"


@pytest.mark.django_db
def test_a_custom_base_model_cannot_point_into_modelhubs_storage(s3, user_api, admin_api):
    body = {"display_name": "stolen", "s3_uri": "s3://modelhub-test/modelhub/jobs/mhjob-other-1/output/",
            "template": "qwen3", "parameters_b": 0.5}
    refused = user_api.post("/api/v1/models/", body, format="json")
    assert refused.status_code == 400 and "inside ModelHub's own storage" in refused.json()["errors"]["s3_uri"][0]
    assert admin_api.post("/api/v1/models/", body, format="json").status_code == 201
