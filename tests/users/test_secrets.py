import pytest
from django.urls import reverse

from apps.users.models import UserSecret, secret_names

pytestmark = pytest.mark.django_db

KEY = "wandb-0123456789abcdef0123456789abcdef"


def test_secret_is_encrypted_at_rest_and_readable_in_code(user):
    secret = UserSecret.objects.create(owner=user, name="wandb-team", kind="wandb", value=KEY)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT value, hint FROM users_usersecret WHERE id = %s", [secret.pk])
        stored, hint = cursor.fetchone()
    assert KEY not in stored and KEY[-20:] not in stored
    assert hint.endswith("cdef") and KEY[:-4] not in hint
    assert UserSecret.objects.get(pk=secret.pk).value == KEY
    assert secret_names(user) == {"wandb-team"}


def test_api_creates_lists_and_deletes_without_ever_returning_the_value(user_api, user):
    created = user_api.post("/api/v1/secrets/", {"name": "hf", "kind": "hf_token", "value": "hf_abcdefghijklmnopqrstuvwxyz"})
    assert created.status_code == 201, created.content
    assert "value" not in created.json() and "abcdefghijklmnop" not in created.content.decode()
    listed = user_api.get("/api/v1/secrets/").json()["results"]
    assert [s["name"] for s in listed] == ["hf"]
    assert "abcdefghijklmnop" not in str(listed)
    assert user_api.delete(f"/api/v1/secrets/{created.json()['id']}/").status_code == 204
    assert not UserSecret.objects.exists()


def test_api_rejects_duplicates_and_bad_names(user_api, user):
    UserSecret.objects.create(owner=user, name="wandb", kind="wandb", value=KEY)
    dup = user_api.post("/api/v1/secrets/", {"name": "wandb", "kind": "wandb", "value": "x" * 20})
    assert dup.status_code == 400 and dup.json()["errors"]["name"] == ["You already have a secret with this name."]
    bad = user_api.post("/api/v1/secrets/", {"name": "no spaces", "kind": "aws", "value": ""})
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"name", "kind", "value"}
    assert UserSecret.objects.count() == 1


def test_nobody_else_sees_or_deletes_a_secret_not_even_admin(user, other_api, admin_api):
    secret = UserSecret.objects.create(owner=user, name="wandb", kind="wandb", value=KEY)
    for client in (other_api, admin_api):
        assert client.get("/api/v1/secrets/").json()["results"] == []
        assert client.get(f"/api/v1/secrets/{secret.pk}/").status_code == 404
        assert client.delete(f"/api/v1/secrets/{secret.pk}/").status_code == 404
    assert UserSecret.objects.filter(pk=secret.pk).exists()


def test_profile_page_adds_masks_and_deletes(client, user):
    client.force_login(user)
    response = client.post(reverse("add-secret"), {"name": "swan", "kind": "swanlab", "value": KEY})
    assert response.status_code == 302
    page = client.get(reverse("profile")).content.decode()
    assert "swan" in page and KEY not in page and KEY[:12] not in page
    secret = UserSecret.objects.get()
    client.post(reverse("delete-secret", args=[secret.pk]))
    assert not UserSecret.objects.exists()


def test_profile_form_errors_inline_and_nothing_saved(client, user):
    client.force_login(user)
    response = client.post(reverse("add-secret"), {"name": "", "kind": "swanlab", "value": ""})
    assert response.status_code == 400
    assert set(response.context["secret_form"].errors) == {"name", "value"}
    assert not UserSecret.objects.exists()


def test_user_cannot_delete_someone_elses_secret_from_the_page(client, user, other_user):
    secret = UserSecret.objects.create(owner=other_user, name="theirs", kind="wandb", value=KEY)
    client.force_login(user)
    assert client.post(reverse("delete-secret", args=[secret.pk])).status_code == 404
    assert UserSecret.objects.filter(pk=secret.pk).exists()
