"""The operator's CRD schema (v1), read from the shared CRD folder beside the repository.

The v1 `openAPIV3Schema` is checked with jsonschema, plus a walk that rejects keys the schema
does not declare: a real API server silently prunes them, so a misspelt field would vanish.
"""

import os
from functools import cache
from pathlib import Path

import pytest
import yaml

CRD_FILE = "inference.sagemaker.aws.amazon.com_inferenceendpointconfigs.yaml"
_REPO = Path(__file__).resolve().parents[3]
# HYPERPOD_CRD_DIR, else the shared folder beside the checkout (a worktree sits one level deeper).
CRD_DIRS = [Path(p) for p in [os.environ.get("HYPERPOD_CRD_DIR", "")] if p] + [
    _REPO.parent / "shared" / "crds", _REPO.parent.parent / "shared" / "crds",
]


@cache
def v1_schema() -> dict:
    path = next((d / CRD_FILE for d in CRD_DIRS if (d / CRD_FILE).exists()), None)
    if path is None:
        pytest.skip(f"The operator's CRD {CRD_FILE} is in none of {', '.join(map(str, CRD_DIRS))} "
                    "(set HYPERPOD_CRD_DIR to its folder).")
    crd = yaml.safe_load(path.read_text())
    return next(v for v in crd["spec"]["versions"] if v["name"] == "v1")["schema"]["openAPIV3Schema"]


def schema_errors(manifest: dict) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft7Validator(v1_schema())
    found = sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    return ["/".join(map(str, e.absolute_path)) + ": " + e.message for e in found] + undeclared_keys(manifest)


def undeclared_keys(value, schema=None, path="") -> list[str]:
    schema = v1_schema() if schema is None else schema
    problems = []
    if isinstance(value, dict):
        properties = schema.get("properties")
        if properties is None:
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                for key, item in value.items():
                    problems += undeclared_keys(item, extra, f"{path}/{key}")
            return problems
        for key, item in value.items():
            if key not in properties:
                if path == "" or path == "/metadata":
                    continue  # metadata is an untyped object in the CRD
                problems.append(f"{path}/{key}: not in the schema (a real API server drops it)")
            else:
                problems += undeclared_keys(item, properties[key], f"{path}/{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problems += undeclared_keys(item, schema["items"], f"{path}/{i}")
    return problems
