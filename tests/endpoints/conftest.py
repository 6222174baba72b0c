import pytest

from apps.backends import registry
from apps.catalog.models import BaseModel

from .fakes import ScriptedServing


@pytest.fixture
def scripted_backend(settings):
    """The `sagemaker` serving target played by the scripted fake; returns its world."""
    settings.SERVING_BACKENDS = {**settings.SERVING_BACKENDS, "sagemaker": "tests.endpoints.fakes.ScriptedServing"}
    registry.reset()
    world = ScriptedServing.reset()
    yield world
    registry.reset()


@pytest.fixture
def run_tasks_inline(monkeypatch):
    """Endpoint tasks run in-process at commit instead of going to a broker; records what ran."""
    from apps.endpoints import tasks

    ran = []
    for name in ("deploy_endpoint", "update_endpoint", "delete_endpoint"):
        task = getattr(tasks, name)

        def delay(endpoint_id, _task=task, _name=name):
            ran.append((_name, endpoint_id))
            _task.run(endpoint_id)

        monkeypatch.setattr(task, "delay", delay)
    return ran


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
