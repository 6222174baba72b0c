"""Who sees and may delete which dataset; custom models are private; curated ones are for everyone."""

import pytest
from django.urls import reverse

from apps.catalog import services
from apps.catalog.models import BaseModel, Dataset
from apps.core.job_types import JobType

from .conftest import CORPUS


def make_dataset(owner, name, corpus="good/openai.jsonl", shared=False):
    from django.core.files.uploadedfile import SimpleUploadedFile

    path = CORPUS / corpus
    dataset = services.create_from_upload(owner=owner, name=name,
                                          uploaded_file=SimpleUploadedFile(path.name, path.read_bytes()))
    if shared:
        Dataset.objects.filter(pk=dataset.pk).update(shared=True)
    return dataset


@pytest.fixture
def datasets(user, other_user):
    return {
        "alice": make_dataset(user, "alice chat"),
        "bob": make_dataset(other_user, "bob chat"),
        "bob_shared": make_dataset(other_user, "bob shared prefs", "good/preference_alpaca.jsonl", shared=True),
    }


def listed_names(api, **params):
    return sorted(d["name"] for d in api.get("/api/v1/datasets/", {"source": "upload", **params}).json()["results"])


@pytest.mark.django_db
def test_default_user_sees_own_and_shared(user_api, datasets):
    assert listed_names(user_api) == ["alice chat", "bob shared prefs"]


@pytest.mark.django_db
def test_admin_sees_all(admin_api, datasets):
    assert listed_names(admin_api) == ["alice chat", "bob chat", "bob shared prefs"]


@pytest.mark.django_db
def test_others_datasets_are_404_for_read_and_delete(user_api, datasets):
    bob = datasets["bob"].pk
    for url in (f"/api/v1/datasets/{bob}/", f"/api/v1/datasets/{bob}/preview", f"/api/v1/datasets/{bob}/report"):
        assert user_api.get(url).status_code == 404
    assert user_api.delete(f"/api/v1/datasets/{bob}/").status_code == 404
    assert Dataset.objects.filter(pk=bob).exists()


@pytest.mark.django_db
def test_shared_dataset_is_readable_but_not_deletable_by_others(user_api, datasets):
    shared = datasets["bob_shared"].pk
    assert user_api.get(f"/api/v1/datasets/{shared}/").status_code == 200
    assert user_api.delete(f"/api/v1/datasets/{shared}/").status_code == 404
    assert Dataset.objects.filter(pk=shared).exists()


@pytest.mark.django_db
def test_admin_can_delete_anyones_dataset(admin_api, datasets):
    assert admin_api.delete(f"/api/v1/datasets/{datasets['bob'].pk}/").status_code == 204
    assert not Dataset.objects.filter(pk=datasets["bob"].pk).exists()


@pytest.mark.django_db
def test_only_admin_can_share(user_api, admin_api, datasets):
    mine = datasets["alice"].pk
    denied = user_api.patch(f"/api/v1/datasets/{mine}/", {"shared": True}, format="json")
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    assert admin_api.patch(f"/api/v1/datasets/{mine}/", {"shared": True}, format="json").json()["shared"] is True
    assert Dataset.objects.get(pk=mine).shared


@pytest.mark.django_db
def test_pages_follow_the_same_rules(client, user, datasets):
    client.force_login(user)
    assert client.get(reverse("catalog:dataset-detail", args=[datasets["bob"].pk])).status_code == 404
    assert client.post(reverse("catalog:dataset-delete", args=[datasets["bob"].pk])).status_code == 404
    assert client.post(reverse("catalog:dataset-delete", args=[datasets["bob_shared"].pk])).status_code == 404
    assert client.post(reverse("catalog:dataset-share", args=[datasets["alice"].pk]), {"shared": "1"}).status_code == 404
    page = client.get(reverse("catalog:datasets")).content.decode()
    assert "alice chat" in page and "bob shared prefs" in page and "bob chat<" not in page
    response = client.post(reverse("catalog:dataset-delete", args=[datasets["alice"].pk]))
    assert response.status_code == 302 and not Dataset.objects.filter(pk=datasets["alice"].pk).exists()


@pytest.mark.django_db
def test_usable_by_and_compatible_with_for_the_job_form(user, other_user, admin_user, datasets):
    broken = make_dataset(user, "alice broken", "broken/openai_wrong_type.jsonl")
    assert broken.status == "invalid"
    usable = Dataset.objects.usable_by(user)
    names = set(usable.exclude(source="builtin").values_list("name", flat=True))
    assert names == {"alice chat", "bob shared prefs"}
    assert set(usable.compatible_with(JobType.SFT).exclude(source="builtin").values_list("name", flat=True)) == {
        "alice chat"}
    assert set(usable.compatible_with(JobType.DPO).exclude(source="builtin").values_list("name", flat=True)) == {
        "bob shared prefs"}
    assert set(usable.compatible_with(JobType.GRPO).values_list("name", flat=True)) == {
        "hiyouga/math12k", "hiyouga/geometry3k"}  # built-ins are usable by everyone
    assert Dataset.objects.usable_by(admin_user).exclude(source="builtin").count() == 3


@pytest.mark.django_db
def test_custom_models_are_private_and_validated(user_api, other_api):
    bad = user_api.post("/api/v1/models/", {"display_name": "X", "template": "Qwen 3!", "parameters_b": 0},
                        format="json")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) >= {"repo_id", "template", "parameters_b"}
    created = user_api.post("/api/v1/models/", {
        "display_name": "My Qwen", "repo_id": "me/my-qwen", "template": "qwen3", "parameters_b": 7.6,
        "context_length": 32768, "lora_targets": ["q_proj", "v_proj"]}, format="json")
    assert created.status_code == 201, created.json()
    key = created.json()["key"]
    assert created.json()["lora_targets"] == ["q_proj", "v_proj"] and created.json()["is_custom"]
    assert other_api.get(f"/api/v1/models/{key}/").status_code == 404
    assert other_api.delete(f"/api/v1/models/{key}/").status_code == 404
    detail = user_api.get(f"/api/v1/models/{key}/").json()
    assert detail["instance_types"]["lora"]["instance_types"]
    assert other_api.delete("/api/v1/models/qwen3-8b/").status_code == 403
    assert user_api.delete(f"/api/v1/models/{key}/").status_code == 204
    assert BaseModel.objects.filter(key="qwen3-8b").exists()
