"""Both database shapes: the settings DATABASE_URL produces, and a real MariaDB round trip."""

import json
import os
import subprocess
import sys

import pytest

from tests.services import in_ci, require_mariadb
from tests.stack import ROOT


def databases_for(url: str) -> dict:
    """The settings module alone (no django.setup()): no app is loaded, so no database driver is imported and the
    MySQL shape is checked on a machine without mysqlclient, as a newcomer's is."""
    code = "import json; from django.conf import settings; print(json.dumps(settings.DATABASES['default'], default=str))"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "modelhub.settings"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_reading_the_mysql_settings_imports_no_driver():
    code = ("import sys; from django.conf import settings; settings.DATABASES; "
            "print([m for m in sys.modules if m.startswith(('MySQLdb', 'django.db.backends.mysql'))])")
    env = {**os.environ, "DATABASE_URL": "mysql://app@db/modelhub", "DJANGO_SETTINGS_MODULE": "modelhub.settings"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def require_mysqlclient():
    """CI's MariaDB run installs the driver and must use it; the embedded run (a newcomer's fresh virtualenv, CI's
    too) has none and needs none, so there a missing driver skips."""
    try:
        import MySQLdb
    except ImportError:
        if in_ci() and os.environ.get("DATABASE_URL", "").startswith("mysql"):
            pytest.fail("mysqlclient is not installed, yet DATABASE_URL is MySQL (required when CI=true)")
        pytest.skip("mysqlclient is not installed (requirements-mysql.txt)")
    return MySQLdb


def test_mysql_url_selects_mysqlclient_with_utf8mb4():
    db = databases_for("mysql://app:secret@db.internal:3307/modelhub")
    assert db["ENGINE"] == "django.db.backends.mysql"
    assert (db["HOST"], db["PORT"], db["NAME"], db["USER"]) == ("db.internal", 3307, "modelhub", "app")
    assert db["OPTIONS"]["charset"] == "utf8mb4" and db["TEST"]["CHARSET"] == "utf8mb4"


def test_default_is_a_sqlite_file_in_wal_mode(tmp_path):
    db = databases_for(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"] and db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert db["TEST"]["NAME"].endswith(".sqlite3")  # a file: real worker processes share it with the tests


@pytest.mark.mysql
def test_mariadb_round_trips_four_byte_characters():
    host, port = require_mariadb()
    MySQLdb = require_mysqlclient()

    conn = MySQLdb.connect(host=host, port=port, user="root", charset="utf8mb4")
    try:
        cursor = conn.cursor()
        cursor.execute("CREATE DATABASE IF NOT EXISTS modelhub_probe CHARACTER SET utf8mb4")
        cursor.execute("CREATE TEMPORARY TABLE modelhub_probe.t (v VARCHAR(191)) CHARACTER SET utf8mb4")
        cursor.execute("INSERT INTO modelhub_probe.t VALUES (%s)", ["Qwen 🤖 模型"])
        cursor.execute("SELECT v FROM modelhub_probe.t")
        assert cursor.fetchone()[0] == "Qwen 🤖 模型"
        cursor.execute("DROP DATABASE modelhub_probe")
    finally:
        conn.close()
