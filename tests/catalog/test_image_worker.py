"""An image archive uploaded to the real web server is answered at once and unpacked by a real io worker."""

import httpx
import pytest

from apps.users.models import ApiToken
from tests import stack
from tests.conftest import make_user

from .corpus.images.builders import good_members, make_zip

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def test_archive_is_unpacked_and_checked_by_an_io_worker(tmp_path):
    user = make_user("alice")
    _, raw = ApiToken.issue(user, "integration")
    headers = {"Authorization": f"Bearer {raw}"}
    env = stack.stack_env(DATA_DIR=str(tmp_path), STORAGE_DIR=str(tmp_path / "storage"))
    with stack.web_server(env) as url, stack.worker(env, queues="io"):
        created = httpx.post(f"{url}/api/v1/datasets/", headers=headers, data={"name": "pics"},
                             files={"file": ("pics.zip", make_zip(good_members()))}, timeout=30)
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "validating"  # the web process only stored the archive
        dataset_id = created.json()["id"]

        def done():
            body = httpx.get(f"{url}/api/v1/datasets/{dataset_id}/", headers=headers, timeout=5).json()
            return body if body["status"] != "validating" else None

        body = stack.wait_until(done, timeout=60, interval=0.3, message="the worker to unpack the archive")
        assert body["status"] == "ready", body["status_reason"]
        preview = httpx.get(f"{url}/api/v1/datasets/{dataset_id}/preview", headers=headers, timeout=5).json()
    assert [t["image"] for t in preview["rows"][1]["thumbs"]] == ["images/blue.jpg", "images/green.webp"]
    stored = sorted(p.name for p in (tmp_path / "storage").rglob("*") if p.is_file())
    assert "pics.zip" not in stored and "red.png" in stored and "row2-1.webp" in stored
