import logging

import pytest

from apps.core.secrets import RedactingFilter, decrypt, encrypt, mask, redact


def test_encryption_round_trip_and_ciphertext_hides_the_value():
    token = encrypt("hf_supersecretvalue123456")
    assert "supersecret" not in token
    assert decrypt(token) == "hf_supersecretvalue123456"


def test_rotated_keys_still_decrypt_old_values(settings):
    from cryptography.fernet import Fernet

    from apps.core import secrets

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old]
    secrets._fernet.cache_clear()
    stored = encrypt("value")
    settings.ENCRYPTION_KEYS = [new, old]
    secrets._fernet.cache_clear()
    try:
        assert decrypt(stored) == "value"
        settings.ENCRYPTION_KEYS = [new]
        secrets._fernet.cache_clear()
        with pytest.raises(ValueError, match="cannot be decrypted"):
            decrypt(stored)
    finally:
        secrets._fernet.cache_clear()


@pytest.mark.parametrize(
    "text, secret",
    [
        ("Authorization: Bearer mh_abcdefghijklmnopqrstuvwx", "mh_abcdefghijklmnopqrstuvwx"),
        ("token hf_ABCDEFGHIJKLMNOPQRSTU in env", "hf_ABCDEFGHIJKLMNOPQRSTU"),
        ("key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
        ('{"VLLM_API_KEY": "s3cr3t-value"}', "s3cr3t-value"),
        ("password=hunter2hunter2", "hunter2hunter2"),
    ],
)
def test_redact_removes_credentials(text, secret):
    cleaned = redact(text)
    assert secret not in cleaned and "[REDACTED]" in cleaned


def test_logging_filter_redacts_formatted_messages(caplog):
    logger = logging.getLogger("modelhub.test.redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="modelhub.test.redaction"):
        logger.info("calling with %s", "Bearer mh_abcdefghijklmnopqrstuvwx")
    assert "mh_abcdefghijklmnopqrstuvwx" not in caplog.text


def test_mask_shows_only_a_hint():
    assert mask("sk-abcdefghijklmnop").endswith("mnop")
    assert "abc" not in mask("sk-abcdefghijklmnop")
    assert mask("short") == "••••••••"
