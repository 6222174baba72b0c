from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture(autouse=True)
def storage_dir(settings, tmp_path):
    """Each test gets its own local store, so leftovers can be checked file by file."""
    settings.STORAGE_DIR = tmp_path / "storage"
    settings.STORAGE_DIR.mkdir()
    return settings.STORAGE_DIR


@pytest.fixture(autouse=True)
def validation_on_a_worker(request, monkeypatch):
    """Validation is always a task; these tests run it in-process as soon as it is sent, except those that
    capture on-commit callbacks to look at the queued dispatch themselves."""
    uses_database = request.node.get_closest_marker("django_db") is not None
    if uses_database and "django_capture_on_commit_callbacks" not in request.fixturenames:
        request.getfixturevalue("inline_tasks")


@pytest.fixture
def s3(monkeypatch, settings):
    """moto S3 with ModelHub's bucket and a user bucket; the shared boto3 client cache is reset around it."""
    from moto import mock_aws

    from apps.backends import aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    settings.S3_BUCKET, settings.S3_PREFIX, settings.AWS_REGION = "modelhub-test", "modelhub", "us-east-1"
    aws.client.cache_clear()
    with mock_aws():
        client = aws.client("s3")
        client.create_bucket(Bucket="modelhub-test")
        client.create_bucket(Bucket="user-data")
        yield client
    aws.client.cache_clear()


def all_keys(client, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
