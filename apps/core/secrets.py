"""Secrets at rest and in logs.

Encrypted fields hold API keys, HF tokens and endpoint keys with Fernet (keys from
ENCRYPTION_KEYS, newest first, or one derived from SECRET_KEY). The logging filter masks
anything shaped like a credential before a log line is written.
"""

import base64
import hashlib
import logging
import re
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    keys = list(settings.ENCRYPTION_KEYS)
    if not keys:
        digest = hashlib.sha256(b"modelhub-encryption:" + settings.SECRET_KEY.encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("Stored secret cannot be decrypted with the configured keys.") from exc


def mask(value: str, visible: int = 4) -> str:
    """A hint for humans: the last few characters only, never enough to use."""
    if not value:
        return ""
    return "•" * 8 + (value[-visible:] if len(value) > 3 * visible else "")


class EncryptedTextField(models.TextField):
    """Stores a Fernet token; Python code sees the plaintext. Never put one in a serializer's output."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)


_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[^\s\"',]+"), r"\1[REDACTED]"),
    (re.compile(r"\bmh_[A-Za-z0-9_\-]{16,}"), "[REDACTED]"),
    (re.compile(r"\bhf_[A-Za-z0-9]{16,}"), "[REDACTED]"),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), "[REDACTED]"),
    (
        re.compile(
            r"(?i)([\"']?[\w\-]*(?:api[_-]?key|secret|token|password)[\w\-]*[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"
        ),
        r"\1[REDACTED]",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
