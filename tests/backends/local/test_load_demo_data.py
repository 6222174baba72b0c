"""manage.py load_demo_data: the demo files become shared, validated datasets of the right formats, and
locally stored models join the catalog. Idempotent."""

from __future__ import annotations

import shutil
from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_demo_datasets_are_registered_once_with_their_formats(user, storage, inline_tasks):
    from apps.catalog.models import Dataset

    call_command("load_demo_data", owner=user.username, skip_models=True, stdout=StringIO())
    call_command("load_demo_data", owner=user.username, skip_models=True, stdout=StringIO())
    datasets = {d.name: d for d in Dataset.objects.filter(owner=user)}
    assert {name: d.format for name, d in datasets.items()} == {
        "Demo: instructions": "alpaca", "Demo: plain text": "text", "Demo: preferences": "preference",
        "Demo: KTO labels": "kto", "Demo: arithmetic": "prompt_answer"}
    assert all(d.status == Dataset.Status.READY and d.shared for d in datasets.values()), \
        {n: (d.status, d.status_reason) for n, d in datasets.items()}
    assert "grpo" in datasets["Demo: arithmetic"].job_types and "dpo" in datasets["Demo: preferences"].job_types


def test_models_stored_locally_join_the_catalog(user, storage, tiny_model):
    from apps.catalog.models import BaseModel

    shutil.copytree(tiny_model, storage / "models" / "tiny-chat")
    out = StringIO()
    call_command("load_demo_data", owner=user.username, stdout=out)
    model = BaseModel.objects.get(key="tiny-chat")
    assert model.repo_id == str(storage / "models" / "tiny-chat") and model.template == "chatml"
    assert not BaseModel.objects.filter(key="smollm2-135m-instruct-local").exists()  # not converted here
    assert "smollm2-135m-instruct-local" in out.getvalue() and "skipped" in out.getvalue()


def test_an_unknown_owner_is_an_error(db, storage):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user named"):
        call_command("load_demo_data", owner="nobody", skip_models=True)
