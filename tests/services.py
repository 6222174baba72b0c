"""Availability of the external services some tests need.

Locally a missing service skips the test with the reason; under CI=true it fails it, so CI can
never pass by skipping what it was meant to run.
"""

import os
import shutil
import socket

import pytest

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if in_ci():
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


def require_redis() -> str:
    require(_port_open("127.0.0.1", 6379), "Redis is not answering on 127.0.0.1:6379")
    return REDIS_URL


MARIADB = ("127.0.0.1", 3306)


def require_mariadb() -> tuple[str, int]:
    require(_port_open(*MARIADB), "MariaDB/MySQL is not answering on 127.0.0.1:3306")
    return MARIADB


def require_chromium() -> tuple[str, str]:
    require(
        shutil.which(CHROMIUM) is not None and shutil.which(CHROMEDRIVER) is not None,
        f"Chromium and ChromeDriver are not installed ({CHROMIUM}, {CHROMEDRIVER})",
    )
    return CHROMIUM, CHROMEDRIVER
