"""The jobs app's modules depend one way (docs/architecture.md, "Dependency direction"), import project
modules at the top, and the training backends import none of the apps."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Higher layers may import lower ones, never the reverse; modules in one layer do not import each other.
LAYERS = [("views", "api"), ("tasks",), ("reconcile",), ("services",), ("lifecycle",), ("submission", "dispatch", "listing"),
          ("bundle",), ("models",), ("layout",)]
LEVEL = {module: level for level, layer in enumerate(LAYERS) for module in layer}
APPS = ("apps.jobs", "apps.endpoints", "apps.chat", "apps.catalog", "apps.clusters")


def imports(path: Path, package: str):
    """(imported module, line, at top level) for every import in `path`."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            yield name, node.lineno, id(node) in top


def jobs_module(name: str) -> str | None:
    parts = name.split(".")
    return parts[2] if parts[:2] == ["apps", "jobs"] and len(parts) > 2 and parts[2] in LEVEL else None


@pytest.mark.parametrize("module", sorted(LEVEL))
def test_jobs_modules_depend_one_way_and_import_at_the_top(module):
    for name, line, at_top in imports(ROOT / "apps" / "jobs" / f"{module}.py", "apps.jobs"):
        if name.startswith("apps."):
            assert at_top, f"apps/jobs/{module}.py:{line} imports {name} inside a function"
        other = jobs_module(name)
        if other and other != module:
            assert LEVEL[other] > LEVEL[module], f"apps/jobs/{module}.py:{line} imports {other}, a module above it"


@pytest.mark.parametrize("path", sorted((ROOT / "apps" / "backends").glob("*/training.py")), ids=lambda p: p.parent.name)
def test_training_backends_import_no_app(path):
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for name, line, _ in imports(path, package):
        assert not name.startswith(APPS), f"{path.relative_to(ROOT)}:{line} imports {name}"
