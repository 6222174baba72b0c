"""Where the Kubernetes client may be imported, and what the HyperPod backend may import."""

import ast
from pathlib import Path

APPS = Path(__file__).resolve().parents[3] / "apps"
HYPERPOD = APPS / "backends" / "hyperpod"


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_kubernetes_client_is_imported_only_by_the_hyperpod_backend():
    offenders = [str(p.relative_to(APPS)) for p in APPS.rglob("*.py") if HYPERPOD not in p.parents
                 and any(n == "kubernetes" or n.startswith("kubernetes.") for n in imports(p))]
    assert offenders == []


def test_the_hyperpod_backend_imports_no_app():
    apps = ("apps.jobs", "apps.endpoints", "apps.chat", "apps.catalog", "apps.clusters", "apps.users")
    offenders = {str(p.name): sorted(n for n in imports(p) if n.startswith(apps)) for p in HYPERPOD.rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}
