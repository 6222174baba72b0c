"""Uploading through the page and the API: stored, validated, reported; bad input leaves nothing behind."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.catalog.models import BaseModel, Dataset

from .conftest import CORPUS, files_under


def corpus_file(kind: str, name: str, as_name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(as_name or name, (CORPUS / kind / name).read_bytes())


def upload_api(api, name="my data", file=None, **extra):
    return api.post("/api/v1/datasets/", {"name": name, "file": file, **extra}, format="multipart")


@pytest.mark.django_db
def test_api_upload_of_a_good_file_is_ready_with_stats_preview_and_entry(user_api, user, storage_dir):
    response = upload_api(user_api, file=corpus_file("good", "openai.jsonl"), base_model="qwen3-0-6b")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "ready"
    assert body["format"] == "openai"
    assert body["job_types"] == ["sft", "ppo"]
    assert body["row_count"] == 3
    assert body["owner"] == "alice"
    assert body["dataset_info_entry"]["formatting"] == "sharegpt"
    assert body["dataset_info_entry"]["tags"]["role_tag"] == "role"
    assert body["dataset_info_entry"]["file_name"].endswith(".jsonl")
    dataset = Dataset.objects.get(pk=body["id"])
    assert files_under(storage_dir) == [f"datasets/ds-my-data-{dataset.pk}/upload/openai.jsonl"]

    preview = user_api.get(f"/api/v1/datasets/{dataset.pk}/preview").json()
    assert [row["row"] for row in preview["rows"]] == [1, 2, 3]
    assert preview["rendered"]["text"].startswith("<|im_start|>system\nYou are concise.")
    report = user_api.get(f"/api/v1/datasets/{dataset.pk}/report/").json()
    assert report["status"] == "ready" and report["report"]["error_count"] == 0
    assert report["stats"]["rows"] == 3 and "estimate" in report["stats"]["token_counter"]


@pytest.mark.django_db
def test_api_upload_of_a_broken_file_is_invalid_with_row_and_problem(user_api, storage_dir):
    response = upload_api(user_api, file=corpus_file("broken", "openai_no_assistant_turn.jsonl"))
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "invalid"
    assert "row 4: no assistant turn" in body["status_reason"]
    report = user_api.get(f"/api/v1/datasets/{body['id']}/report").json()["report"]
    assert report["errors"] == [{"row": 4, "problem": "no assistant turn"}]
    assert files_under(storage_dir) == []  # the unusable upload is not kept; the report is


@pytest.mark.django_db
@pytest.mark.parametrize("name, code_words", [
    ("unknown_format.jsonl", "Unknown format"),
    ("empty.jsonl", "The file is empty."),
    ("latin1.csv", "not UTF-8 text"),
    ("utf16.jsonl", "UTF-16"),
    ("notes.txt", "Unsupported file type"),
    ("single_object.json", "one object, not a list"),
])
def test_api_bad_input_is_400_and_leaves_nothing(user_api, storage_dir, name, code_words):
    response = upload_api(user_api, file=corpus_file("rejected", name))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert code_words in body["errors"]["file"][0]
    assert Dataset.objects.filter(owner__username="alice").count() == 0
    assert files_under(storage_dir) == []


@pytest.mark.django_db
def test_api_upload_over_the_size_limit_is_refused_while_streaming(user_api, settings, storage_dir, tmp_path):
    settings.DATASET_MAX_UPLOAD_MB = 1
    big = b'{"text": "%s"}\n' % (b"x" * 1000)
    response = upload_api(user_api, file=SimpleUploadedFile("big.jsonl", big * 1500))  # ~1.5 MB
    assert response.status_code == 400
    assert response.json()["errors"]["file"] == ["The file is too large: the limit is 1 MB."]  # stopped mid-stream
    assert Dataset.objects.filter(owner__username="alice").count() == 0
    assert files_under(storage_dir) == []


@pytest.mark.django_db
def test_api_upload_requires_a_name_and_a_file(user_api):
    response = user_api.post("/api/v1/datasets/", {"description": "x"}, format="multipart")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "name" in errors and "file" in errors


@pytest.mark.django_db
def test_page_upload_redirects_to_the_detail_page_with_report(client, user, storage_dir):
    client.force_login(user)
    response = client.post(reverse("catalog:dataset-upload"), {
        "name": "Broken chat", "file": corpus_file("broken", "sharegpt_roles_out_of_order.jsonl"), "cutoff_len": 2048,
    })
    dataset = Dataset.objects.get(name="Broken chat")
    assert response.status_code == 302 and response.url == dataset.get_absolute_url()
    page = client.get(dataset.get_absolute_url()).content.decode()
    assert "Validation report" in page
    assert "roles out of order: turn 1 is &#x27;gpt&#x27;" in page
    assert "<td class=\"num\">3</td>" in page


@pytest.mark.django_db
def test_page_upload_of_bad_file_shows_inline_error(client, user, storage_dir):
    client.force_login(user)
    response = client.post(reverse("catalog:dataset-upload"), {
        "name": "Nope", "file": corpus_file("rejected", "whitespace.jsonl"), "cutoff_len": 2048,
    })
    assert response.status_code == 400
    assert "The file is empty (only whitespace)." in response.content.decode()
    assert not Dataset.objects.filter(name="Nope").exists()
    assert files_under(storage_dir) == []


@pytest.mark.django_db
def test_xhr_page_upload_answers_json(client, user, storage_dir, settings):
    client.force_login(user)
    settings.DATASET_MAX_UPLOAD_MB = 1
    response = client.post(reverse("catalog:dataset-upload"), {
        "name": "Big", "file": SimpleUploadedFile("big.jsonl", b'{"text": "a"}\n' * 120_000), "cutoff_len": 2048,
    }, HTTP_ACCEPT="application/json")
    assert response.status_code == 413
    assert "limit is 1 MB" in response.json()["errors"]["file"][0]
    ok = client.post(reverse("catalog:dataset-upload"), {
        "name": "Small", "file": corpus_file("good", "text.jsonl"), "cutoff_len": 2048,
    }, HTTP_ACCEPT="application/json")
    assert ok.status_code == 201 and ok.json()["status"] == "ready"
    assert files_under(storage_dir) == [f"datasets/ds-small-{ok.json()['id']}/upload/text.jsonl"]


@pytest.mark.django_db
def test_large_upload_is_validated_by_the_io_task(user_api, settings):
    from unittest import mock

    with mock.patch("apps.catalog.services.send_on_commit") as send:
        body = upload_api(user_api, file=corpus_file("good", "alpaca.csv")).json()
    assert body["status"] == "validating"
    send.assert_called_once_with("catalog.validate_dataset", body["id"])
    from apps.catalog.tasks import validate_dataset

    validate_dataset.run(body["id"])
    validate_dataset.run(body["id"])  # safe to run twice
    dataset = Dataset.objects.get(pk=body["id"])
    assert dataset.status == "ready" and dataset.format == "alpaca" and dataset.row_count == 3
    assert list(dataset.events.values_list("message", flat=True))[-1].startswith("validating → ready")


@pytest.mark.django_db
def test_lost_validations_are_sent_again_and_deleted_ones_are_skipped(user_api, settings,
                                                                       django_capture_on_commit_callbacks):
    from datetime import timedelta
    from unittest import mock

    from django.utils import timezone

    from apps.catalog import services
    from apps.catalog.tasks import redispatch_validations

    with django_capture_on_commit_callbacks(execute=False):
        stale = upload_api(user_api, name="stale", file=corpus_file("good", "text.jsonl")).json()["id"]
        fresh = upload_api(user_api, name="fresh", file=corpus_file("good", "text.jsonl")).json()["id"]
    Dataset.objects.filter(pk=stale).update(status_changed_at=timezone.now() - timedelta(hours=3))
    with mock.patch("apps.catalog.tasks.validate_dataset.delay") as delay:
        assert redispatch_validations.run() == 1
    delay.assert_called_once_with(stale)

    Dataset.objects.get(pk=fresh).delete()
    services.validate(fresh)  # a message for a deleted dataset is a no-op
    assert not Dataset.objects.filter(pk=fresh).exists()


@pytest.mark.django_db
def test_parquet_upload_through_the_api(user_api, storage_dir, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "prefs.parquet"
    rows = [{"instruction": f"Question {i}", "input": "", "chosen": "good", "rejected": "bad"} for i in range(3000)]
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=500)
    body = upload_api(user_api, file=SimpleUploadedFile("prefs.parquet", path.read_bytes())).json()
    assert body["status"] == "ready" and body["format"] == "preference" and body["row_count"] == 3000
    assert body["dataset_info_entry"]["ranking"] is True
    assert body["dataset_info_entry"]["file_name"].endswith(".parquet")


@pytest.mark.django_db
def test_admin_pages_for_models_and_datasets(client, admin_user, user):
    admin_user.is_staff = admin_user.is_superuser = True  # as add_user --admin makes them
    admin_user.save()
    client.force_login(admin_user)
    for url in ("/admin/catalog/basemodel/", "/admin/catalog/basemodel/?q=qwen3", "/admin/catalog/dataset/",
                f"/admin/catalog/basemodel/{BaseModel.objects.get(key='qwen3-8b').pk}/change/"):
        assert client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_a_failed_copy_to_storage_leaves_nothing(user_api, storage_dir):
    from unittest import mock

    from apps.backends.errors import TransientError

    with mock.patch("apps.backends.storage.move_file", side_effect=TransientError("S3 is busy")):
        response = upload_api(user_api, file=corpus_file("good", "text.jsonl"))
    assert response.status_code == 503
    assert response.json() == {"code": "storage_unavailable", "message": "Could not store the data: S3 is busy"}
    assert not Dataset.objects.filter(source="upload").exists()
    assert files_under(storage_dir) == []


@pytest.mark.django_db
def test_an_upload_cut_short_is_marked_invalid_by_the_retry(user):
    dataset = Dataset.objects.create(owner=user, name="cut", source="upload", status="validating",
                                     format="text", file_type="jsonl")
    from apps.catalog import services

    services.validate(dataset.pk)
    dataset.refresh_from_db()
    assert dataset.status == "invalid" and "did not finish" in dataset.status_reason
