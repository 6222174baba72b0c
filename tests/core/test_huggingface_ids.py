"""One Hugging Face repo id rule for jobs, endpoints and the catalog (the Hub's own)."""

import pytest

from apps.catalog.forms import BaseModelForm
from apps.core.huggingface import is_hf_repo_id


@pytest.mark.parametrize("value", ["Qwen/Qwen3-8B", "tatsu-lab/alpaca", "a_b/c.d", "x/y"])
def test_ids_the_hub_accepts(value):
    assert is_hf_repo_id(value)


@pytest.mark.parametrize("value", ["Qwen3-8B", "owner--x/name", "owner/na..me", "owner/name.git", "-a/b", "a/b/c", ""])
def test_ids_the_hub_refuses(value):
    assert not is_hf_repo_id(value)


@pytest.mark.django_db
def test_the_catalog_applies_the_same_rule(user):
    form = BaseModelForm(data={"display_name": "x", "repo_id": "owner--x/name", "template": "qwen"})
    form.is_valid()
    assert "repo_id" in form.errors
