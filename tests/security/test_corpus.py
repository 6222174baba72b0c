"""The hostile-input corpus (tests/security/corpus) through the dataset upload API, the readers' memory
bounds measured in a fresh process, and file names that try to leave the dataset's folder.

The gateway's share of the corpus (deep JSON, oversized and undecodable bodies, foreign Host headers) is in
test_gateway_input.py and the API's (every route, hostile JSON) in test_api_bodies.py.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.catalog.models import Dataset
from tests.catalog.conftest import files_under

from .corpus import CASES, PATH_TRICKS
from .memory import peak_growth_mb

pytestmark = pytest.mark.django_db


def upload(api, name: str, content: bytes):
    return api.post("/api/v1/datasets/", {"name": "hostile", "file": SimpleUploadedFile(name, content)},
                    format="multipart")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_hostile_file_is_refused_or_reported_and_leaves_nothing_behind(user_api, storage_dir, case):
    response = upload(user_api, case.name, case.build())
    if case.outcome == "refused":
        assert response.status_code == 400, response.content[:300]
        assert case.words in response.json()["errors"]["file"][0]
        assert not Dataset.objects.filter(source="upload").exists()
        assert files_under(storage_dir) == []
        return
    assert response.status_code == 201, response.content[:300]
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert dataset.status == case.outcome, dataset.status_reason
    assert case.words in dataset.status_reason
    if case.outcome == "invalid":
        assert files_under(storage_dir) == []  # the report stays, the unusable file does not


@pytest.mark.parametrize("case", [c for c in CASES if c.bomb], ids=[c.name for c in CASES if c.bomb])
def test_reading_a_bomb_keeps_the_process_small(tmp_path, case):
    path = tmp_path / case.name
    path.write_bytes(case.build())
    growth, rows = peak_growth_mb(
        "from pathlib import Path\nfrom apps.catalog.inspection import inspect, precheck\n"
        "from apps.catalog.readers import FileRejected, file_type_for",
        f"p = Path({str(path)!r}); t = file_type_for(p.name)\n"
        "try:\n    result = inspect(p, t, layout=precheck(p, t)).row_count\n"
        "except FileRejected as exc:\n    result = exc.code",
    )
    assert rows == "syntax" if case.outcome == "refused" else rows >= 2
    # One row may take 16 MB decoded; a few copies of it (bytes, text, parsed) are the most a reader holds.
    assert growth < 120, f"{case.name}: the process grew by {growth:.0f} MB"


@pytest.mark.parametrize("name", PATH_TRICKS)
def test_file_names_that_try_to_leave_the_datasets_folder_stay_inside_it(user_api, storage_dir, name):
    response = upload(user_api, name, b'{"text": "a"}\n')
    if response.status_code == 400:  # a name without a usable extension is refused, and nothing stored
        assert "file" in response.json()["errors"] and files_under(storage_dir) == []
        return
    dataset = Dataset.objects.get(pk=response.json()["id"])
    stored = files_under(storage_dir)
    assert len(stored) == 1 and stored[0].startswith(f"datasets/ds-hostile-{dataset.pk}/upload/")
    leaf = stored[0].rsplit("/", 1)[1]
    assert ".." not in leaf and "\\" not in leaf and len(leaf) <= 120 and leaf.isascii()
    assert dataset.status == "ready"
