from io import StringIO

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.core.management import CommandError, call_command

from apps.users.models import ApiToken, User, hash_token

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def add_user(monkeypatch, username, password, group, *extra):
    """add_user with the password on standard input, as a script gives it."""
    monkeypatch.setattr("sys.stdin", StringIO(password + "\n"))
    return run("add_user", username, group, "--password-stdin", *extra)


def test_add_user_hashes_the_password_and_sets_the_group(monkeypatch):
    add_user(monkeypatch, "carol", "a-long-test-password", "default")
    user = User.objects.get(username="carol")
    assert user.password != "a-long-test-password"
    assert identify_hasher(user.password).algorithm == "pbkdf2_sha256"
    assert user.check_password("a-long-test-password")
    assert [g.name for g in user.groups.all()] == ["default"]
    assert not user.is_admin


def test_add_admin_user(monkeypatch):
    add_user(monkeypatch, "dave", "a-long-test-password", "admin")
    user = User.objects.get(username="dave")
    assert user.is_admin and user.is_staff


@pytest.mark.parametrize(
    "args, message",
    [
        (("erin", "a-long-test-password", "wizards"), "Unknown group 'wizards': use one of admin, default."),
        (("erin", "short", "default"), "This password is too short"),
        (("bad name!", "a-long-test-password", "default"), "Enter a valid username"),
    ],
)
def test_add_user_rejects_bad_input_and_creates_nothing(monkeypatch, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        add_user(monkeypatch, *args)
    assert not User.objects.exists()


def test_add_existing_user_fails(monkeypatch, user):
    with pytest.raises(CommandError, match="User 'alice' already exists."):
        add_user(monkeypatch, "alice", "a-long-test-password", "default")


def test_add_user_never_takes_the_password_as_an_argument():
    with pytest.raises(CommandError, match="unrecognized arguments: default"):
        run("add_user", "erin", "a-long-test-password", "default")
    assert not User.objects.exists()


def test_add_user_asks_twice_at_a_prompt_and_refuses_a_mismatch(monkeypatch):
    typed = iter(["a-long-test-password", "a-long-test-password", "a-long-test-password", "different-password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    monkeypatch.setattr("sys.stdin", type("Tty", (StringIO,), {"isatty": lambda self: True})())
    run("add_user", "frank", "default")
    assert User.objects.get(username="frank").check_password("a-long-test-password")
    with pytest.raises(CommandError, match="The two passwords differ."):
        run("add_user", "grace", "default")


def test_add_user_without_a_terminal_or_stdin_flag_says_how(monkeypatch):
    monkeypatch.setattr("sys.stdin", StringIO(""))
    with pytest.raises(CommandError, match="pipe it in with --password-stdin"):
        run("add_user", "heidi", "default")
    with pytest.raises(CommandError, match="nothing was read"):
        run("add_user", "heidi", "default", "--password-stdin")
    assert not User.objects.exists()


def test_delete_user(user):
    ApiToken.issue(user, "x")
    run("delete_user", "alice")
    assert not User.objects.filter(username="alice").exists()
    assert not ApiToken.objects.exists()


def test_delete_unknown_user_fails():
    with pytest.raises(CommandError, match="No such user: 'ghost'."):
        run("delete_user", "ghost")


def test_create_token_prints_token_alone_on_last_line(user):
    out, err = run("create_token", "alice", "--name", "deploy", "--expires-days", "7")
    raw = out.strip().splitlines()[-1]
    token = ApiToken.objects.get(owner=user)
    assert token.digest == hash_token(raw) and token.name == "deploy"
    assert token.expires_at is not None
    assert raw not in err


def test_create_token_for_unknown_user_fails():
    with pytest.raises(CommandError, match="No such user: 'ghost'."):
        run("create_token", "ghost")


@pytest.mark.django_db(transaction=True)
def test_commands_exit_non_zero_from_the_shell():
    import os
    import subprocess
    import sys

    from tests.stack import ROOT, database_url

    result = subprocess.run(
        [sys.executable, "manage.py", "delete_user", "ghost"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url()}, capture_output=True, text=True,
    )
    assert result.returncode != 0
    assert "No such user: 'ghost'." in result.stderr


def test_ensure_admin_creates_admin_once_with_a_printed_password():
    out, _ = run("ensure_admin")
    password = out.strip().rsplit(" ", 1)[-1]
    admin = User.objects.get(username="admin")
    assert admin.is_admin and admin.check_password(password)
    out_again, _ = run("ensure_admin")
    assert "unchanged" in out_again
    admin.refresh_from_db()
    assert admin.check_password(password)


def test_delete_user_who_owns_jobs_is_refused_and_changes_nothing(user):
    from apps.jobs.models import TrainingJob

    TrainingJob.objects.create(owner=user, name="keep", job_type="sft", status="running", spec={})
    with pytest.raises(CommandError, match="User 'alice' still owns training jobs"):
        run("delete_user", "alice")
    assert User.objects.filter(username="alice").exists()


def test_delete_user_who_owns_endpoints_is_refused(user):
    from apps.endpoints.models import Endpoint

    Endpoint.objects.create(owner=user, name="live-one", source="hf", model_uri="Qwen/Qwen3-0.6B",
                            target="sagemaker", engine="vllm", instance_type="ml.g5.xlarge", status="in_service")
    with pytest.raises(CommandError, match="User 'alice' still owns endpoints"):
        run("delete_user", "alice")
    assert User.objects.filter(username="alice").exists()
