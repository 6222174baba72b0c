"""The curated catalogue: base models and built-in datasets from the version-controlled data files."""

from functools import cache
from pathlib import Path

import yaml
from django.db import transaction

from .formats import job_types_for

DATA_DIR = Path(__file__).resolve().parent / "data"
MODEL_FIELDS = ("display_name", "repo_id", "s3_uri", "template", "parameters_b", "context_length",
                "lora_targets", "license", "modality", "family", "description")


def load_yaml(name: str) -> list[dict]:
    with open(DATA_DIR / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or []


def curated_models() -> list[dict]:
    entries = load_yaml("models.yaml")
    keys = [e["key"] for e in entries]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise ValueError(f"Duplicate keys in models.yaml: {sorted(duplicates)}")
    return [{"lora_targets": ["all"], "modality": "text", **entry} for entry in entries]


# Facts about a model's architecture, read from its config.json (see models.yaml); the deploy checks
# (tensor parallelism vs attention heads, KV cache size, context length) and the gated-token rule use them.
FACT_FIELDS = ("context_length", "num_layers", "hidden_size", "num_attention_heads", "num_kv_heads", "head_dim",
               "gated")


@cache
def _facts_index() -> dict[str, dict]:
    index = {}
    for entry in curated_models():
        facts = {f: entry[f] for f in FACT_FIELDS if f in entry}
        for name in (entry["key"], entry.get("repo_id")):
            if name:
                index[name] = facts
    return index


def model_facts(key_or_repo_id: str) -> dict | None:
    """The config.json facts of a curated model, by catalog key or Hugging Face repo id; None if unknown."""
    return _facts_index().get(key_or_repo_id)


def builtin_datasets() -> list[dict]:
    return load_yaml("builtin_datasets.yaml")


def builtin_names() -> list[str]:
    return [d["name"] for d in builtin_datasets()]


@transaction.atomic
def sync(update: bool = False) -> dict[str, int]:
    """Add missing curated models and built-in datasets; with `update`, overwrite curated models from the file.

    Admins may edit curated entries in Django admin, so a plain sync (run after every migrate)
    never overwrites them.
    """
    from .models import BaseModel, Dataset

    counts = {"models_created": 0, "models_updated": 0, "datasets_created": 0}
    for entry in curated_models():
        values = {f: entry[f] for f in MODEL_FIELDS if f in entry}
        values.update(owner=None, is_custom=False)
        obj, created = BaseModel.objects.get_or_create(key=entry["key"], defaults=values)
        if created:
            counts["models_created"] += 1
        elif update and not obj.is_custom:
            for field, value in values.items():
                setattr(obj, field, value)
            obj.save()
            counts["models_updated"] += 1

    for entry in builtin_datasets():
        _, created = Dataset.objects.get_or_create(
            source=Dataset.Source.BUILTIN, source_uri=entry["name"], owner=None,
            defaults={
                "name": entry["name"], "description": entry.get("description", ""), "shared": True,
                "format": entry["format"], "job_types": job_types_for(entry["format"]),
                "status": Dataset.Status.READY, "status_reason": "Built into LLaMA-Factory / EasyR1.",
            },
        )
        counts["datasets_created"] += int(created)
    return counts
