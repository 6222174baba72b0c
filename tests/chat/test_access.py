import asyncio
import time

import pytest

from apps.chat import access
from apps.chat.errors import GatewayError
from apps.users.models import ApiToken
from tests.conftest import make_user

from .conftest import make_endpoint


@pytest.fixture(autouse=True)
def _forget():
    access._admitted.clear()
    yield
    access._admitted.clear()


def test_admission_is_remembered_for_the_configured_time_only(transactional_db, settings):
    settings.CHAT_AUTH_CACHE_SECONDS = 60
    alice = make_user("alice")
    make_endpoint(alice, "ep", "local")
    token, raw = ApiToken.issue(alice, "t")
    assert asyncio.run(access.aadmit(f"Bearer {raw}", "ep"))[1].name == "ep"
    token.revoke()
    assert asyncio.run(access.aadmit(f"Bearer {raw}", "ep"))[0] == alice  # from memory, within the TTL
    settings.CHAT_AUTH_CACHE_SECONDS = 0
    access._admitted.clear()
    with pytest.raises(GatewayError) as info:
        asyncio.run(access.aadmit(f"Bearer {raw}", "ep"))
    assert info.value.status == 401


def test_concurrent_requests_share_one_lookup_and_its_failure(monkeypatch, settings):
    settings.CHAT_AUTH_CACHE_SECONDS, settings.CHAT_RATE_LIMIT_REQUESTS = 60, 0
    calls = []

    def slow_admit(authorization, model):
        calls.append(model)
        time.sleep(0.05)
        if model == "missing":
            raise GatewayError(404, "nope")
        return "user", "endpoint"

    monkeypatch.setattr(access, "admit", slow_admit)

    async def many(model):
        return await asyncio.gather(*(access.aadmit("Bearer mh_x", model) for _ in range(20)), return_exceptions=True)

    assert asyncio.run(many("ep")) == [("user", "endpoint")] * 20
    results = asyncio.run(many("missing"))
    assert all(isinstance(r, GatewayError) and r.status == 404 for r in results)
    assert calls == ["ep", "missing"]
    assert asyncio.run(many("missing"))  # failures are not remembered: looked up again
    assert calls == ["ep", "missing", "missing"]


def test_rate_limit_counts_per_user_per_window(user, other_user, settings):
    settings.CHAT_RATE_LIMIT_REQUESTS, settings.CHAT_RATE_LIMIT_WINDOW_SECONDS = 2, 3600
    from django.core.cache import cache

    cache.clear()
    access.check_rate(user)
    access.check_rate(user)
    with pytest.raises(GatewayError) as info:
        access.check_rate(user)
    assert info.value.status == 429 and int(info.value.headers["Retry-After"]) > 0
    access.check_rate(other_user)
