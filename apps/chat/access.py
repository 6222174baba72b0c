"""Who may chat with which endpoint, and how often.

The checks are synchronous (ORM). The gateway, which runs outside Django's request handling,
calls them through `in_db_thread`; `admit` does what a gateway request needs in one such hop.
`aadmit` remembers its result in the process for CHAT_AUTH_CACHE_SECONDS, so a client streaming
many requests costs no database work per request: a revoked token, a user removed from every
group or an endpoint leaving service is noticed after at most that long. The rate limit is
counted on every request; when the cache holding its counters cannot be reached, requests go on
without a limit (logged) rather than failing.
"""

import asyncio
import logging
import math
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connections
from rest_framework.exceptions import AuthenticationFailed

from apps.endpoints.models import Endpoint
from apps.users.authentication import authenticate_token
from apps.users.models import GROUPS, hash_token
from apps.users.ownership import visible_to

from .errors import GatewayError, model_not_found, not_in_service, unauthenticated
from .model_ids import ChatModel, adapter_names, model_id, serves, split_model_id

logger = logging.getLogger(__name__)


def user_from_authorization(header: str):
    if not header:
        raise unauthenticated("You didn't provide an API key. Send 'Authorization: Bearer <ModelHub API token>'.")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise unauthenticated("Malformed Authorization header: use 'Bearer <ModelHub API token>'.")
    try:
        return authenticate_token(raw.strip()).owner
    except AuthenticationFailed as exc:
        raise unauthenticated(str(exc.detail)) from None


def check_may_chat(user) -> None:
    """Every account in one of ModelHub's groups may chat; an account outside them (suspended) may not."""
    if user.is_superuser or not user.group_names().isdisjoint(GROUPS):
        return
    raise GatewayError(403, "Your account is not allowed to use models. Ask an administrator to add you to a group.",
                       type="permission_error", code="permission_denied")


def check_rate(user) -> None:
    """A fixed-window request counter per user in the configured Django cache."""
    limit = settings.CHAT_RATE_LIMIT_REQUESTS
    if limit <= 0:
        return
    window = settings.CHAT_RATE_LIMIT_WINDOW_SECONDS
    now = time.time()
    index = int(now // window)
    try:
        count = _count(f"chat-rate:{user.pk}:{index}", window)
    except Exception as exc:  # noqa: BLE001 - any cache backend's connection error
        # Availability over the limit: the limit protects capacity; refusing everyone protects nothing.
        logger.warning("Chat rate limit not applied: the cache %r is unreachable (%s: %s)",
                       settings.CHAT_RATE_LIMIT_CACHE, type(exc).__name__, exc)
        return
    if count > limit:
        retry_after = max(1, math.ceil((index + 1) * window - now))
        raise GatewayError(
            429, f"Rate limit reached: {limit} requests per {window} s. Try again in {retry_after} s.",
            type="requests", code="rate_limit_exceeded", headers={"Retry-After": str(retry_after)},
        )


def _count(key: str, window: int) -> int:
    cache = caches[settings.CHAT_RATE_LIMIT_CACHE]
    cache.add(key, 0, timeout=window + 1)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 1)
        return 1


def usable_model(user, name) -> ChatModel:
    """The model `name` (an endpoint's name, or `<endpoint>:<adapter>`: `model_ids`) if the user may see
    its endpoint and the endpoint answers requests. An unknown adapter is as unknown as an unknown endpoint."""
    if not isinstance(name, str) or not name:
        raise GatewayError(400, "'model' is required: the name of one of your endpoints.", param="model",
                           code="invalid_value")
    endpoint_name, adapter = split_model_id(name)
    endpoint = visible_to(Endpoint.objects.live(), user).filter(name=endpoint_name).first()
    if endpoint is None or not serves(endpoint, name):
        raise model_not_found(name)
    if not endpoint.is_invocable:
        raise not_in_service(endpoint.name, endpoint.status.replace("_", " "))
    return ChatModel.of(endpoint, adapter)


def in_db_thread(function):
    """`function` as a coroutine function, run on asgiref's one thread for synchronous code.

    That thread keeps its database connection between calls (a lookup then costs its queries,
    not a new connection); one that failed or no longer answers is replaced before the next call.
    """

    def with_usable_connections(*args):
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None and (connection.errors_occurred or not connection.is_usable()):
                connection.close()
        return function(*args)

    return sync_to_async(with_usable_connections)


async def acheck_rate(user) -> None:
    if isinstance(caches[settings.CHAT_RATE_LIMIT_CACHE], LocMemCache):
        check_rate(user)  # in memory: no I/O, no need for a thread
    else:
        await sync_to_async(check_rate)(user)


def authenticate(authorization: str):
    """The user behind a gateway request's token, if that user may chat at all."""
    user = user_from_authorization(authorization)
    check_may_chat(user)
    return user


def admit(authorization: str, model) -> tuple:
    """Authenticate and authorise one gateway request; the user and the `ChatModel`."""
    user = authenticate(authorization)
    return user, usable_model(user, model)


_ADMITTED_MAX = 10_000
_admitted: dict[tuple, tuple[float, object]] = {}
_in_flight: dict[tuple, asyncio.Future] = {}


def _remember(key, lookup: asyncio.Future) -> None:
    _in_flight.pop(key, None)
    if lookup.cancelled() or lookup.exception() is not None or settings.CHAT_AUTH_CACHE_SECONDS <= 0:
        return
    if len(_admitted) >= _ADMITTED_MAX:
        _admitted.clear()
    _admitted[key] = (time.monotonic() + settings.CHAT_AUTH_CACHE_SECONDS, lookup.result())


async def _remembered(key: tuple, function, *args):
    """`function(*args)` in the database thread, remembered under `key` for CHAT_AUTH_CACHE_SECONDS;
    concurrent callers with the same key share one lookup (and its failure, which is not remembered)."""
    hit = _admitted.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    lookup = _in_flight.get(key)
    if lookup is None:
        lookup = _in_flight[key] = asyncio.ensure_future(in_db_thread(function)(*args))
        lookup.add_done_callback(lambda done: _remember(key, done))
    # shield: a request that goes away does not cancel the lookup others are waiting for.
    return await asyncio.shield(lookup)


async def aauthenticate(authorization: str):
    """`authenticate`, remembered per token: the gateway calls it before reading the request body, so an
    anonymous client cannot make the gateway read or parse anything."""
    return await _remembered((hash_token(authorization), None), authenticate, authorization)


async def aadmit(authorization: str, model) -> tuple:
    """`admit`, remembered per (token, model) for CHAT_AUTH_CACHE_SECONDS; then the rate limit."""
    key = (hash_token(authorization), model if isinstance(model, str) else "")
    user, chat_model = await _remembered(key, admit, authorization, model)
    await acheck_rate(user)
    return user, chat_model


def models_for(authorization: str) -> list[dict]:
    user = user_from_authorization(authorization)
    check_may_chat(user)
    endpoints = visible_to(Endpoint.objects.filter(status="in_service"), user).select_related("owner")
    return [item for endpoint in endpoints.order_by("name") for item in model_objects(endpoint)]


async def amodels_for(authorization: str) -> list[dict]:
    return await in_db_thread(models_for)(authorization)


def model_objects(endpoint) -> list[dict]:
    """The endpoint's base model, then each of its adapters, as OpenAI model objects; an adapter's
    `parent` is its endpoint's model id."""
    base = {"id": endpoint.name, "object": "model", "created": int(endpoint.created_at.timestamp()),
            "owned_by": endpoint.owner.username}
    return [base] + [{**base, "id": model_id(endpoint.name, name), "parent": endpoint.name}
                     for name in adapter_names(endpoint)]
