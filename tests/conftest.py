import pytest

from apps.users.models import ApiToken, User
from apps.users.models import group as get_group

pytest_plugins = ["tests.browser", "tests.fixtures.tasks", "tests.fixtures.training", "tests.fixtures.serving"]


def make_user(username: str, group: str = "default", password: str = "a-long-test-password") -> User:
    user = User.objects.create_user(username=username, password=password, is_staff=group == "admin")
    user.groups.add(get_group(group))
    return user


def grant_group_policy(user, group_name: str = "code-runners", **policy):
    """Put `user` in a group whose GroupPolicy has `policy` (default: both code permissions on)."""
    from django.contrib.auth.models import Group

    from apps.users.models import GroupPolicy

    policy = policy or {"allow_trust_remote_code": True, "allow_custom_reward_code": True}
    group = Group.objects.get_or_create(name=group_name)[0]
    user.groups.add(group)
    return GroupPolicy.objects.update_or_create(group=group, defaults=policy)[0]


@pytest.fixture
def user(db):
    return make_user("alice")


@pytest.fixture
def other_user(db):
    return make_user("bob")


@pytest.fixture
def admin_user(db):
    return make_user("root", group="admin")


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


def _client_for(user):
    from rest_framework.test import APIClient

    _, raw = ApiToken.issue(user, "test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def user_api(user):
    """An API client authenticated with a token of `user`."""
    return _client_for(user)


@pytest.fixture
def other_api(other_user):
    return _client_for(other_user)


@pytest.fixture
def admin_api(admin_user):
    return _client_for(admin_user)



@pytest.fixture(autouse=True)
def _empty_caches():
    """Each test starts with empty caches (rate-limit counters, admission caches), whatever CACHE_URL is."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()
