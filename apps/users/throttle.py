"""Login throttling and failed-login logging, for every password login (the login page and the admin's).

Failures are counted in the default cache per username and per client address within a window of
LOGIN_LOCKOUT_SECONDS; at LOGIN_MAX_FAILURES either count locks further attempts out until the window
passes, even with the right password, so guessing costs an attacker the window per few tries. Each failure
is logged with the username and address (never the password). A lockout is keyed by username too, so it
also slows a distributed guess at one account; the price is that someone can lock a known username out for
a window, which the log shows. A cache that cannot be reached counts nothing (logged): logins go on.
"""

import hashlib
import logging
import time

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

logger = logging.getLogger("apps.users.logins")


def client_address(request) -> str:
    return (request.META.get("REMOTE_ADDR") or "unknown") if request is not None else "unknown"


def _keys(username: str, address: str) -> list[str]:
    name = hashlib.sha256((username or "").strip().lower().encode()).hexdigest()[:32]
    return [f"login-failures:user:{name}", f"login-failures:addr:{address}"]


def _window_key(key: str) -> str:
    return f"{key}:{int(time.time() // settings.LOGIN_LOCKOUT_SECONDS)}"


def locked_out(username: str, address: str) -> bool:
    try:
        counts = cache.get_many([_window_key(k) for k in _keys(username, address)])
    except Exception as exc:  # noqa: BLE001 - any cache backend's connection error
        logger.warning("Login throttle off: the cache is unreachable (%s)", type(exc).__name__)
        return False
    return any(count >= settings.LOGIN_MAX_FAILURES for count in counts.values())


def record_failure(username: str, address: str) -> None:
    for key in _keys(username, address):
        window = _window_key(key)
        try:
            cache.add(window, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS + 1)
            cache.incr(window)
        except ValueError:  # expired between add and incr
            cache.set(window, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS + 1)
        except Exception as exc:  # noqa: BLE001
            logger.warning("Login throttle off: the cache is unreachable (%s)", type(exc).__name__)
            return


class ThrottledModelBackend(ModelBackend):
    """Django's password backend, refusing (PermissionDenied stops every backend) while locked out."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        username = username if username is not None else kwargs.get("email", "")
        if username and locked_out(username, client_address(request)):
            logger.warning("Login refused while locked out: username=%r address=%s", username,
                           client_address(request))
            if request is not None:
                request.login_locked_out = True
            raise PermissionDenied("Too many failed logins.")
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed)
def _log_failure(sender, credentials, request=None, **kwargs):
    username = credentials.get("username", "")
    address = client_address(request)
    logger.warning("Failed login: username=%r address=%s", username, address)
    if not getattr(request, "login_locked_out", False):
        record_failure(username, address)


@receiver(user_logged_in)
def _log_success(sender, request, user, **kwargs):
    logger.info("Login: username=%r address=%s", user.get_username(), client_address(request))
