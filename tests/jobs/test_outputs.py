"""The job page's files (listing by folder, downloads) and the full log download, through a backend
that declares OUTPUTS and LOGS over a real local folder."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from apps.backends.base import Capability, LogLine, LogPage, StoredFile
from apps.backends.errors import TransientError
from apps.backends.storage_listing import StoredOutputs
from apps.jobs.models import Status, TrainingJob
from apps.jobs.outputs import group_outputs, log_text

from .factories import make_job

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def body(response) -> bytes:
    """All of a streamed response: the views stream with async iterators (so ASGI servers do not buffer)."""
    from asgiref.sync import async_to_sync

    async def collect():
        return b"".join([part async for part in response.streaming_content])

    return async_to_sync(collect)()


class Backend(StoredOutputs):
    """Files from the real local store; log pages scripted (an exception in the script is raised)."""

    name = "sagemaker"
    label = "Test target"
    capabilities = frozenset({Capability.LOGS}) | StoredOutputs.capabilities

    def job_root(self, remote_name):
        return ""

    def __init__(self, pages=()):
        self.pages, self.tokens = list(pages), []

    def logs(self, job, next_token=None, limit=500):
        self.tokens.append(next_token)
        index = int(next_token or 0)
        if index >= len(self.pages):
            return LogPage([], next_token)
        if isinstance(self.pages[index], Exception):
            raise self.pages[index]
        return LogPage(self.pages[index], str(index + 1))


class LogsOnly:
    name = "sagemaker"
    label = "Test target"
    capabilities = frozenset({Capability.LOGS})


@pytest.fixture
def backend(monkeypatch):
    backend = Backend()
    monkeypatch.setattr("apps.backends.registry.training_backend", lambda name: backend)
    return backend


@pytest.fixture
def web(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def job(user, tmp_path):
    root = tmp_path / "jobs" / "mhjob-a"
    for name, body in {"merged/model.safetensors": b"m" * 2048, "merged/config.json": b"{}",
                       "checkpoints/checkpoint-10/adapter_model.safetensors": b"a" * 10,
                       "config/train.yaml": b"stage: sft\n", "notes.txt": b"n", "exports/gptq-4bit/model.bin": b"q"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(body)
    job = make_job(user, name="files", status=Status.SUCCEEDED, remote_id="arn:1")
    TrainingJob.objects.filter(pk=job.pk).update(output_uri=root.as_uri() + "/")
    job.refresh_from_db()
    return job


def test_files_are_grouped_by_folder_in_reading_order():
    files = [StoredFile(k, 1) for k in ("config/a.yaml", "zeta/x", "merged/b", "checkpoints/c/d", "top.txt", "alpha/y")]
    folders = group_outputs(files)
    assert [(f.name, f.label) for f in folders] == [
        ("merged", "Merged model"), ("checkpoints", "Checkpoints and trainer log"), ("config", "Configuration"),
        ("alpha", "alpha/"), ("zeta", "zeta/"), ("", "Other files")]
    assert folders[1].files[0].key == "checkpoints/c/d" and folders[0].size == 1


@pytest.mark.django_db
def test_outputs_card_lists_folders_with_sizes_and_links(web, job, backend):
    page = web.get(f"/jobs/{job.pk}/").content.decode()
    assert f'hx-get="/jobs/{job.pk}/outputs"' in page  # the card on the job page loads the list
    body = web.get(f"/jobs/{job.pk}/outputs").content.decode()
    assert "6 files" in body
    assert body.index('data-folder="merged"') < body.index('data-folder="checkpoints"') < body.index('data-folder="exports"')
    assert f'/jobs/{job.pk}/outputs/download?key=merged%2Fmodel.safetensors' in body and "2.0\xa0KB" in body
    assert f'href="/jobs/{job.pk}/logs/download"' in body


@pytest.mark.django_db
def test_local_file_downloads_stream_the_bytes_and_refuse_other_keys(web, job, backend):
    response = web.get(f"/jobs/{job.pk}/outputs/download", {"key": "merged/model.safetensors"})
    assert response.status_code == 200 and response["Content-Length"] == "2048"
    assert response["Content-Disposition"] == 'attachment; filename="model.safetensors"'
    assert body(response) == b"m" * 2048
    for key in ("../mhjob-b/secret", "merged/missing.bin", "merged", ""):
        assert web.get(f"/jobs/{job.pk}/outputs/download", {"key": key}).status_code == 404, key


@pytest.mark.django_db
def test_s3_downloads_redirect_to_the_stores_link(web, job, backend, monkeypatch):
    monkeypatch.setattr(Backend, "output_link", lambda self, root, key: f"https://bucket.example/{key}?sig=1")
    response = web.get(f"/jobs/{job.pk}/outputs/download", {"key": "merged/config.json"})
    assert response.status_code == 302 and response["Location"] == "https://bucket.example/merged/config.json?sig=1"


@pytest.mark.django_db
def test_other_users_jobs_are_404_everywhere(job, backend, other_user):
    client = Client()
    client.force_login(other_user)
    for url in (f"/jobs/{job.pk}/outputs", f"/jobs/{job.pk}/outputs/download?key=merged/config.json",
                f"/jobs/{job.pk}/logs/download"):
        assert client.get(url).status_code == 404, url


@pytest.mark.django_db
def test_targets_without_outputs_say_so(web, job, monkeypatch):
    monkeypatch.setattr("apps.backends.registry.training_backend", lambda name: LogsOnly())
    body = web.get(f"/jobs/{job.pk}/outputs").content.decode()
    assert "Files are not listed for this job's target" in body
    assert web.get(f"/jobs/{job.pk}/outputs/download", {"key": "merged/config.json"}).status_code == 404


def _line(minute, node, text):
    return LogLine(T0 + timedelta(minutes=minute), text, node)


@pytest.mark.django_db
def test_full_log_is_every_page_of_every_node_in_one_file(web, job, backend):
    backend.pages = [[_line(0, "algo-1-1", "starting"), _line(0, "algo-2-1", "starting too")],
                     [_line(5, "algo-1-1", "{'loss': 1.2}")]]
    response = web.get(f"/jobs/{job.pk}/logs/download")
    assert response["Content-Disposition"] == f'attachment; filename="{job.remote_name}.log"'
    assert body(response).decode() == (
        "2026-12-07T10:00:00+00:00 algo-1-1 starting\n2026-12-07T10:00:00+00:00 algo-2-1 starting too\n"
        "2026-12-07T10:05:00+00:00 algo-1-1 {'loss': 1.2}\n")
    assert backend.tokens == [None, "1", "2"]  # read from the start until a page brought nothing


@pytest.mark.django_db
def test_a_log_that_cannot_be_read_to_its_end_says_so_in_the_file(web, job, backend):
    backend.pages = [[_line(0, "algo-1-1", "starting")], TransientError("Rate exceeded")]
    text = body(web.get(f"/jobs/{job.pk}/logs/download")).decode()
    assert text.endswith("[ModelHub] The log could not be read to its end: Rate exceeded\n")
    assert text.startswith("2026-12-07T10:00:00+00:00 algo-1-1 starting\n")


@pytest.mark.django_db
def test_a_queued_job_has_no_log_to_download(web, user, backend):
    assert web.get(f"/jobs/{make_job(user).pk}/logs/download").status_code == 404


def test_log_text_format():
    assert log_text([_line(1, "algo-1", "x")]) == "2026-12-07T10:01:00+00:00 algo-1 x\n"
