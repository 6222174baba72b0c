"""Accounts under attack: login throttling and its log, no caching of pages with secrets, one rule for
other users' secrets on the page and in the API, security headers, and `check --deploy` in production."""

import logging
import os
import subprocess
import sys

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.users.models import UserSecret

KEY = "wandb-key-0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def login(client, username, password, address="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.django_db
def test_failed_logins_are_logged_and_lock_the_username_out(client, user, settings, caplog):
    settings.LOGIN_MAX_FAILURES = 3
    with caplog.at_level(logging.WARNING, logger="apps.users.logins"):
        for _ in range(3):
            assert login(client, "alice", "wrong-password").status_code == 200
    assert caplog.text.count("Failed login: username='alice' address=10.0.0.1") == 3
    assert "wrong-password" not in caplog.text
    locked = login(client, "alice", "a-long-test-password", address="10.0.0.9")  # right password, other address
    assert locked.status_code == 200 and "_auth_user_id" not in client.session
    assert "Too many failed logins. Try again in up to 15 minutes." in locked.content.decode()
    assert "Login refused while locked out: username='alice'" in caplog.text


@pytest.mark.django_db
def test_one_address_guessing_many_usernames_is_locked_out_too(client, user, other_user, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for name in ("x1", "x2", "x3"):
        login(client, name, "guess", address="10.0.0.66")
    login(client, "bob", "a-long-test-password", address="10.0.0.66")
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_lockout_ends_with_its_window_and_good_logins_pass(client, user, settings):
    settings.LOGIN_MAX_FAILURES, settings.LOGIN_LOCKOUT_SECONDS = 2, 900
    login(client, "alice", "nope")
    response = login(client, "alice", "a-long-test-password")
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.django_db
def test_the_admin_login_is_throttled_by_the_same_backend(client, admin_user, settings):
    settings.LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        client.post("/admin/login/", {"username": admin_user.username, "password": "x"}, REMOTE_ADDR="10.1.1.1")
    client.post("/admin/login/", {"username": admin_user.username, "password": "a-long-test-password"},
                REMOTE_ADDR="10.1.1.2")
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_pages_and_api_answers_with_secrets_are_not_cacheable(client, user, user_api):
    client.force_login(user)
    page = client.post(reverse("profile"), {"name": "ci"})
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert "no-store" in client.get(reverse("profile"))["Cache-Control"]
    created = user_api.post("/api/v1/secrets/", {"name": "w", "kind": "wandb", "value": KEY}, format="json")
    assert created.status_code == 201 and created["Cache-Control"] == "no-store"
    assert user_api.get("/api/v1/me")["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_admins_cannot_delete_other_users_secrets_on_the_page_as_in_the_api(client, admin_user, admin_api,
                                                                            other_user):
    secret = UserSecret.objects.create(owner=other_user, name="theirs", kind="wandb", value=KEY)
    assert admin_api.delete(f"/api/v1/secrets/{secret.pk}/").status_code == 404
    client.force_login(admin_user)
    assert client.post(reverse("delete-secret", args=[secret.pk])).status_code == 404
    assert UserSecret.objects.filter(pk=secret.pk).exists()


@pytest.mark.django_db
def test_security_headers(client):
    response = client.get(reverse("login"))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    from tests.stack import ROOT

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "modelhub.settings", "DATA_DIR": str(tmp_path),
           "DEBUG": "false", "SECRET_KEY": "k" + "8Zq2-x7Lw" * 8, "ALLOWED_HOSTS": "modelhub.example.com",
           "SECURE_COOKIES": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
