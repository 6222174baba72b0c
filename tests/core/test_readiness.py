"""The readiness of every configured compute target: on the dashboard and in /healthz, never failing it."""

import pytest

from apps.backends import registry
from apps.backends.base import Readiness
from apps.core import readiness

pytestmark = pytest.mark.django_db


class UsableTarget:
    label = "Usable cloud"

    def readiness(self):
        return Readiness(usable=True)


class UnconfiguredTarget:
    label = "Unconfigured cloud"
    calls = 0

    def readiness(self):
        UnconfiguredTarget.calls += 1
        return Readiness(usable=False, missing=("Set S3_BUCKET in .env: where jobs keep their files.",
                                                "Set SAGEMAKER_ROLE_ARN in .env: the role jobs run as."))


class SilentTarget:
    """A backend that does not implement readiness() yet."""

    label = "Silent cloud"


class BrokenTarget:
    label = "Broken cloud"

    def readiness(self):
        raise RuntimeError("credentials expired")


HERE = "tests.core.test_readiness."


@pytest.fixture
def targets(settings):
    settings.TRAINING_BACKENDS = {"ready": HERE + "UsableTarget", "bare": HERE + "UnconfiguredTarget",
                                  "silent": HERE + "SilentTarget"}
    settings.SERVING_BACKENDS = {"broken": HERE + "BrokenTarget", "typo": HERE + "NoSuchTarget"}
    registry.reset()
    yield
    registry.reset()


def by_key(found):
    return {(t.role, t.name): t for t in found}


def test_every_target_is_asked_and_errors_are_reported_not_raised(targets):
    found = by_key(readiness.compute())
    assert found["training", "ready"].state == "usable"
    bare = found["training", "bare"]
    assert bare.state == "unusable" and len(bare.missing) == 2 and "S3_BUCKET" in bare.missing[0]
    assert found["training", "silent"].state == "unknown"
    assert found["serving", "broken"].state == "unusable" and "credentials expired" in found["serving", "broken"].detail
    assert found["serving", "typo"].state == "unusable" and "could not be loaded" in found["serving", "typo"].missing[0]


def test_answers_are_cached(targets):
    UnconfiguredTarget.calls = 0
    readiness.targets()
    readiness.targets()
    assert UnconfiguredTarget.calls == 1


def test_healthz_lists_targets_without_changing_its_status(client, targets):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == (200 if all(c["ok"] for c in body["checks"].values()) else 503)
    assert body["targets"]["training"]["bare"] == {
        "label": "Unconfigured cloud", "usable": False, "state": "unusable", "detail": "",
        "missing": ["Set S3_BUCKET in .env: where jobs keep their files.",
                    "Set SAGEMAKER_ROLE_ARN in .env: the role jobs run as."]}
    assert body["targets"]["training"]["silent"]["usable"] is None
    assert body["targets"]["serving"]["broken"]["state"] == "unusable"


def test_healthz_status_does_not_depend_on_targets(client, settings, targets, monkeypatch):
    from apps.core import views

    monkeypatch.setattr(views, "run_checks", lambda: {"database": {"ok": True}})
    assert client.get("/healthz").status_code == 200  # though "bare" and "broken" are unusable


def test_dashboard_shows_each_target_with_what_to_set_and_where(client, user, targets):
    client.force_login(user)
    page = client.get("/").content.decode()
    section = page.split('data-testid="targets"')[1]
    assert "Unconfigured cloud" in section and "Set SAGEMAKER_ROLE_ARN in .env" in section
    assert "Not usable" in section and "Usable" in section and "Not checked" in section
    assert ".env file in the project folder" in page


def test_the_sagemaker_targets_say_what_to_set_in_chinese(client, admin_user, settings):
    """The real SageMaker targets without settings: their lines are translated on the dashboard (the API and
    /healthz keep them in English)."""
    from apps.users.models import User

    settings.S3_BUCKET, settings.SAGEMAKER_ROLE_ARN = "", ""
    registry.reset()
    User.objects.filter(pk=admin_user.pk).update(language="zh-hans")
    client.force_login(admin_user)
    page = client.get("/").content.decode()
    assert "请设置 S3_BUCKET：训练任务的配置、检查点和模型都保存在那里。" in page
    assert "请设置 SAGEMAKER_ROLE_ARN：SageMaker 端点运行所用的 IAM 角色。" in page
    assert "Set S3_BUCKET:" not in page
    assert "Set S3_BUCKET: jobs keep" in client.get("/healthz").content.decode()
