"""A large upload through the real web server is validated by a real Celery worker on the io queue."""

import httpx
import pytest

from apps.users.models import ApiToken
from tests import stack
from tests.conftest import make_user

from .conftest import CORPUS

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def test_upload_is_validated_by_an_io_worker(tmp_path):
    user = make_user("alice")
    _, raw = ApiToken.issue(user, "integration")
    headers = {"Authorization": f"Bearer {raw}"}
    env = stack.stack_env(DATA_DIR=str(tmp_path), STORAGE_DIR=str(tmp_path / "storage"))
    with stack.web_server(env) as url, stack.worker(env, queues="io"):
        path = CORPUS / "broken" / "alpaca_missing_field.jsonl"
        with open(path, "rb") as fh:
            created = httpx.post(f"{url}/api/v1/datasets/", headers=headers, data={"name": "async"},
                                 files={"file": (path.name, fh)}, timeout=30)
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "validating"
        dataset_id = created.json()["id"]

        def done():
            body = httpx.get(f"{url}/api/v1/datasets/{dataset_id}/report", headers=headers, timeout=5).json()
            return body if body["status"] != "validating" else None

        body = stack.wait_until(done, timeout=60, interval=0.3, message="the worker to validate the upload")
    assert body["status"] == "invalid"
    assert body["report"]["errors"] == [{"row": 3, "problem": "missing field 'output'"}]
    assert not list((tmp_path / "storage").rglob("*.jsonl"))  # the unusable upload was dropped
