"""One admin notion (the `admin` group), the users page for admins, /api/v1/users/ and /api/v1/tokens/."""

import pytest

from apps.users.models import ApiToken, User
from apps.users.models import group as get_group
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_joining_the_admin_group_opens_django_admin_and_leaving_closes_it(client):
    bob = make_user("bob")
    client.force_login(bob)
    assert client.get("/admin/").status_code == 302  # to the admin login: not staff
    bob.groups.add(get_group("admin"))
    bob.refresh_from_db()
    assert bob.is_staff and bob.is_superuser and bob.is_admin
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/users/user/").status_code == 200
    bob.groups.remove(get_group("admin"))
    bob.refresh_from_db()
    assert not (bob.is_staff or bob.is_superuser or bob.is_admin)
    assert client.get("/admin/").status_code == 302


def test_the_group_side_and_clear_also_sync(db):
    bob, carol = make_user("bob"), make_user("carol")
    admins = get_group("admin")
    admins.user_set.add(bob, carol)
    assert set(User.objects.filter(is_superuser=True, is_staff=True).values_list("username", flat=True)) >= {"bob", "carol"}
    admins.user_set.clear()
    carol.groups.add(admins)
    carol.groups.clear()
    assert not User.objects.filter(username__in=["bob", "carol"], is_staff=True).exists()


def test_users_page_is_for_admins_only(client, user, admin_user):
    client.force_login(user)
    assert client.get("/users/").status_code == 403
    assert "/users/" not in client.get("/").content.decode()
    client.force_login(admin_user)
    page = client.get("/users/")
    assert page.status_code == 200 and "alice" in page.content.decode()


def test_admin_adds_disables_resets_and_regroups_an_account(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/users/", {"username": "dora", "email": "d@example.com", "password": "a-long-test-password",
                                       "groups": ["default"]})
    dora = User.objects.get(username="dora")
    assert response.status_code == 302 and response["Location"] == f"/users/{dora.pk}/"
    assert list(dora.groups.values_list("name", flat=True)) == ["default"] and dora.check_password("a-long-test-password")

    refused = client.post("/users/", {"username": "eve", "password": "short", "groups": ["default"]})
    assert refused.status_code == 400 and not User.objects.filter(username="eve").exists()

    client.post(f"/users/{dora.pk}/active", {"active": "0"})
    dora.refresh_from_db()
    assert not dora.is_active

    page = client.post(f"/users/{dora.pk}/password").content.decode()
    dora.refresh_from_db()
    assert not dora.check_password("a-long-test-password")
    new = page.split('id="new-password">')[1].split("<")[0]
    assert dora.check_password(new)

    client.post(f"/users/{dora.pk}/groups", {"groups": ["admin", "default"]})
    dora.refresh_from_db()
    assert dora.is_staff and dora.is_superuser

    token, _ = ApiToken.issue(dora, "laptop")
    assert "laptop" in client.get(f"/users/{dora.pk}/").content.decode()
    client.post(f"/users/{dora.pk}/tokens/{token.pk}/revoke")
    token.refresh_from_db()
    assert token.state == "revoked"


def test_an_admin_cannot_lock_themselves_out(client, admin_user):
    client.force_login(admin_user)
    client.post(f"/users/{admin_user.pk}/active", {"active": "0"})
    client.post(f"/users/{admin_user.pk}/groups", {"groups": ["default"]})
    admin_user.refresh_from_db()
    assert admin_user.is_active and admin_user.is_admin


def test_users_api(admin_api, user_api, user):
    assert user_api.get("/api/v1/users/").status_code == 403
    listed = admin_api.get("/api/v1/users/").json()["results"]
    assert {u["username"] for u in listed} == {"alice", "root"} and all("password" not in u for u in listed)
    created = admin_api.post("/api/v1/users/", {"username": "dora", "password": "a-long-test-password",
                                                "groups": ["admin"]}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["is_admin"] is True and User.objects.get(username="dora").is_staff
    weak = admin_api.post("/api/v1/users/", {"username": "eve", "password": "123"}, format="json")
    assert weak.status_code == 400 and "password" in weak.json()["errors"]
    disabled = admin_api.patch(f"/api/v1/users/{user.pk}/", {"is_active": False}, format="json")
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    assert user_api.get("/api/v1/me").status_code == 401  # a disabled account's tokens stop working
    reset = admin_api.post(f"/api/v1/users/{user.pk}/reset_password/").json()["password"]
    user.refresh_from_db()
    assert user.check_password(reset)


def test_tokens_api_own_tokens_and_admins_all(user_api, admin_api, user, other_user):
    ApiToken.issue(other_user, "bobs")
    issued = user_api.post("/api/v1/tokens/", {"name": "ci", "expires_in_days": 7}, format="json")
    assert issued.status_code == 201
    raw = issued.json()["token"]
    assert raw.startswith("mh_") and ApiToken.objects.get(pk=issued.json()["id"]).hint == raw[:10]
    mine = user_api.get("/api/v1/tokens/").json()["results"]
    assert {t["owner"] for t in mine} == {"alice"} and all("token" not in t and "digest" not in t for t in mine)
    assert "bob" in {t["owner"] for t in admin_api.get("/api/v1/tokens/").json()["results"]}
    bobs = ApiToken.objects.get(name="bobs")
    assert user_api.delete(f"/api/v1/tokens/{bobs.pk}/").status_code == 404
    assert admin_api.delete(f"/api/v1/tokens/{bobs.pk}/").status_code == 204
    bobs.refresh_from_db()
    assert bobs.state == "revoked"


def test_users_and_tokens_are_in_the_openapi_schema(admin_api):
    paths = admin_api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert {"/api/v1/users/", "/api/v1/users/{id}/reset_password/", "/api/v1/tokens/", "/api/v1/shares/"} <= set(paths)
