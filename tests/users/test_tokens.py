from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.users.models import ApiToken, hash_token

pytestmark = pytest.mark.django_db


def bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_issued_token_is_stored_only_as_digest(user):
    token, raw = ApiToken.issue(user, "ci")
    token.refresh_from_db()
    assert raw.startswith("mh_") and len(raw) > 40
    assert token.digest == hash_token(raw)
    stored = [str(v) for v in ApiToken.objects.filter(pk=token.pk).values().first().values()]
    assert raw not in stored


def test_me_with_valid_token(api_client, user):
    _, raw = ApiToken.issue(user, "laptop")
    response = api_client.get("/api/v1/me", **bearer(raw))
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "alice"
    assert body["groups"] == ["default"]
    assert body["is_admin"] is False
    assert body["auth"] == "token" and body["token_name"] == "laptop"


def test_token_use_is_recorded(api_client, user):
    token, raw = ApiToken.issue(user, "laptop")
    assert token.last_used_at is None
    api_client.get("/api/v1/me", **bearer(raw))
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize(
    "header, message",
    [
        ("Bearer not-a-modelhub-token", "Malformed API token."),
        ("Bearer mh_thisdoesnotexistanywhere000000000000", "Invalid API token."),
        ("Bearer", "Malformed Authorization header: use 'Bearer <token>'."),
        ("Bearer a b", "Malformed Authorization header: use 'Bearer <token>'."),
    ],
)
def test_malformed_or_unknown_token_gets_401_with_error_body(api_client, user, header, message):
    response = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json() == {"code": "authentication_failed", "message": message}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_gets_401(api_client, user):
    token, raw = ApiToken.issue(user, "old")
    token.revoke()
    response = api_client.get("/api/v1/me", **bearer(raw))
    assert response.status_code == 401
    assert response.json()["message"] == "This API token has been revoked."


def test_expired_token_gets_401(api_client, user):
    token, raw = ApiToken.issue(user, "short", expires_in_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api_client.get("/api/v1/me", **bearer(raw))
    assert response.status_code == 401
    assert response.json() == {"code": "authentication_failed", "message": "This API token has expired."}


def test_token_of_disabled_user_gets_401(api_client, user):
    _, raw = ApiToken.issue(user, "x")
    user.is_active = False
    user.save()
    assert api_client.get("/api/v1/me", **bearer(raw)).status_code == 401


def test_no_credentials_gets_401_not_403(api_client):
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_profile_page_shows_new_token_once_and_revokes(client, user):
    client.force_login(user)
    response = client.post(reverse("profile"), {"name": "notebook", "expires_in_days": "30"})
    assert response.status_code == 200
    raw = response.context["new_token"]
    assert raw.startswith("mh_")
    assert raw in response.content.decode()
    token = ApiToken.objects.get(owner=user)
    assert token.name == "notebook"
    assert token.expires_at is not None and token.digest == hash_token(raw)

    again = client.get(reverse("profile")).content.decode()
    assert raw not in again
    assert token.hint in again

    client.post(reverse("revoke-token", args=[token.pk]))
    token.refresh_from_db()
    assert token.state == "revoked"


def test_profile_form_errors_are_inline_and_create_nothing(client, user):
    client.force_login(user)
    response = client.post(reverse("profile"), {"name": "", "expires_in_days": "0"})
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {"name", "expires_in_days"}
    assert not ApiToken.objects.exists()


def test_user_cannot_revoke_someone_elses_token(client, user, other_user):
    token, _ = ApiToken.issue(other_user, "theirs")
    client.force_login(user)
    response = client.post(reverse("revoke-token", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.state == "active"


def test_admin_can_revoke_any_token(client, admin_user, other_user):
    token, _ = ApiToken.issue(other_user, "theirs")
    client.force_login(admin_user)
    client.post(reverse("revoke-token", args=[token.pk]))
    token.refresh_from_db()
    assert token.state == "revoked"


def test_pages_require_login(client):
    response = client.get(reverse("profile"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
