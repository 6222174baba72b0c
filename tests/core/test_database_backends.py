"""Both database shapes: the settings DATABASE_URL produces, and a real MariaDB round trip."""

import json
import os
import subprocess
import sys

import pytest

from tests.services import require_mariadb
from tests.stack import ROOT


def databases_for(url: str) -> dict:
    code = "import json; from django.conf import settings; print(json.dumps(settings.DATABASES['default'], default=str))"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "modelhub.settings"}
    out = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


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
    MySQLdb = pytest.importorskip("MySQLdb", reason="mysqlclient is not installed (requirements-mysql.txt)")

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
