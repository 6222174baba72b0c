"""The dependency direction in .importlinter holds, and the contracts bite when it is broken."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
        "--no-cache"]


def lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(LINT, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_repository_keeps_its_import_contracts():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout


def test_a_backend_importing_an_app_breaks_the_contract(tmp_path):
    for name in ("apps", "modelhub"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "migrations"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    (tmp_path / "apps" / "backends" / "leaky.py").write_text("from apps.jobs import models  # noqa: F401\n")

    result = lint(tmp_path)

    assert result.returncode != 0
    assert "Backends never import the apps BROKEN" in result.stdout
    assert "apps.backends.leaky -> apps.jobs.models" in result.stdout
