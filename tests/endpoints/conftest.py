import pytest

from apps.catalog.models import BaseModel


@pytest.fixture
def small_model(db):
    model, _ = BaseModel.objects.get_or_create(
        key="test-qwen-0-5b",
        defaults={"display_name": "Test Qwen 0.5B", "repo_id": "Qwen/Qwen2.5-0.5B-Instruct", "template": "qwen",
                  "parameters_b": 0.5, "context_length": 32768},
    )
    return model


@pytest.fixture
def huge_model(db):
    model, _ = BaseModel.objects.get_or_create(
        key="test-huge-405b",
        defaults={"display_name": "Test Huge 405B", "repo_id": "example/Huge-405B", "template": "llama3",
                  "parameters_b": 405.0, "context_length": 131072},
    )
    return model
