"""Image datasets uploaded as an archive: unpacked and checked on the worker, thumbnails, staging, bad input.

Every refusal must leave nothing behind: no stored file, no temporary folder, and either no dataset row
(refused in the request) or an invalid one whose reason says why.
"""

import io
import json
import tempfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.catalog import services, staging
from apps.catalog.models import Dataset
from apps.catalog.tasks import validate_dataset
from apps.jobs.renderers.context import job_context
from apps.jobs.renderers.datasets import dataset_info
from tests.conftest import make_user

from .conftest import all_keys, files_under
from .corpus.images.builders import (IMAGES, good_members, make_tar_gz, make_zip, png_header_bomb, rows_with)


@pytest.fixture(autouse=True)
def own_tempdir(monkeypatch, tmp_path):
    """Temporary folders go to a folder of the test's own, so leftovers can be counted."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def upload(api, data: bytes, name: str = "pictures.zip", title: str = "Pictures"):
    return api.post("/api/v1/datasets/", {"name": title, "file": SimpleUploadedFile(name, data)}, format="multipart")


def ready(api, data: bytes, name: str = "pictures.zip") -> Dataset:
    response = upload(api, data, name)
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "ready", response.json()["status_reason"]
    return Dataset.objects.get(pk=response.json()["id"])


def refused_by_row(api, data: bytes, storage_dir, own_tempdir) -> dict:
    """Upload; expect an invalid dataset whose report lists row problems; nothing stored, no temp left."""
    response = upload(api, data)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "invalid"
    assert files_under(storage_dir) == []
    assert list(own_tempdir.iterdir()) == []
    return api.get(f"/api/v1/datasets/{body['id']}/report").json()["report"]


def refused_whole(api, data: bytes, storage_dir, own_tempdir, name: str = "pictures.zip") -> Dataset:
    response = upload(api, data, name)
    assert response.status_code == 201, response.json()
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert dataset.status == "invalid"
    assert dataset.report["error"]["code"] == "archive"
    assert dataset.storage_uri == ""
    assert files_under(storage_dir) == []
    assert list(own_tempdir.iterdir()) == []
    return dataset


# The good archive -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name, build", [("pictures.zip", make_zip), ("pictures.tar.gz", make_tar_gz)])
def test_an_archive_with_its_images_is_ready_with_thumbnails(user_api, storage_dir, own_tempdir, name, build):
    dataset = ready(user_api, build(good_members()), name)
    assert dataset.format == "openai"
    assert dataset.layout["columns"]["images"] == "images"
    assert dataset.row_count == 3 and dataset.file_type == "jsonl"
    folder = f"datasets/ds-pictures-{dataset.pk}/"
    assert files_under(storage_dir) == sorted([
        f"{folder}thumbs/row1-0.webp", f"{folder}thumbs/row2-0.webp", f"{folder}thumbs/row2-1.webp",
        f"{folder}upload/data/data.jsonl", f"{folder}upload/data/images/blue.jpg",
        f"{folder}upload/data/images/green.webp", f"{folder}upload/data/images/red.png",
    ])  # the archive itself is gone once unpacked
    assert list(own_tempdir.iterdir()) == []
    thumbs = {item["row"]: [t["image"] for t in item["thumbs"]] for item in dataset.preview}
    assert thumbs == {1: ["images/red.png"], 2: ["images/blue.jpg", "images/green.webp"], 3: []}

    page = user_api.get(f"/api/v1/datasets/{dataset.pk}/preview").json()
    assert page["rows"][0]["thumbs"][0]["name"] == "row1-0.webp"


@pytest.mark.django_db
def test_thumbnails_are_served_to_those_who_may_see_the_dataset(client, user_api, user, storage_dir):
    dataset = ready(user_api, make_zip(good_members()))
    url = f"/catalog/datasets/{dataset.pk}/thumbnails/row2-0.webp"
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    with Image.open(io.BytesIO(response.content)) as thumb:
        assert thumb.format == "WEBP" and max(thumb.size) <= 160
        assert thumb.convert("RGB").getpixel((5, 5))[2] > 150  # blue.jpg, shrunk

    page = client.get(f"/catalog/datasets/{dataset.pk}/").content.decode()
    assert f'src="/catalog/datasets/{dataset.pk}/thumbnails/row1-0.webp"' in page
    assert client.get(f"/catalog/datasets/{dataset.pk}/thumbnails/row9-0.webp").status_code == 404
    assert client.get(f"/catalog/datasets/{dataset.pk}/thumbnails/..%2Fupload%2Fdata%2Fdata.jsonl").status_code == 404

    client.force_login(make_user("mallory"))
    assert client.get(url).status_code == 404  # not theirs: as missing as the dataset
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


# Staging: LLaMA-Factory's media_dir layout ---------------------------------------------------------------


def _staged_rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.django_db
def test_staging_locally_keeps_the_media_layout(user_api, storage_dir):
    dataset = ready(user_api, make_zip(good_members()))
    folder = staging.stage(dataset, "local")
    staged = storage_dir / f"datasets/ds-pictures-{dataset.pk}/staged"
    assert folder == staged.as_uri() + "/"
    name = dataset.llamafactory_name
    assert sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file()) == sorted([
        "dataset_info.json", f"{name}.jsonl", "images/blue.jpg", "images/green.webp", "images/red.png"])
    info = json.loads((staged / "dataset_info.json").read_text())
    assert info[name]["columns"]["images"] == "images" and info[name]["file_name"] == f"{name}.jsonl"
    rows = _staged_rows((staged / f"{name}.jsonl").read_text())
    assert [r["images"] for r in rows] == [[f"{name}/images/red.png"],
                                           [f"{name}/images/blue.jpg", f"{name}/images/green.webp"], []]
    # A job downloads the staged folder to <dataset_dir>/<name>/ and LLaMA-Factory joins media_dir
    # (= dataset_dir) with each path: every path must land on a staged image.
    dataset_dir = staged.parent / "as-in-a-job"
    (dataset_dir).mkdir()
    (dataset_dir / name).symlink_to(staged)
    for row in rows:
        for path in row["images"]:
            assert (dataset_dir / path).is_file(), path


@pytest.mark.django_db
def test_staging_to_s3_and_the_jobs_dataset_info(s3, settings, user_api):
    settings.DATASET_STORE = "s3"
    dataset = ready(user_api, make_zip(good_members()))
    prefix = f"modelhub/datasets/ds-pictures-{dataset.pk}/"
    assert all_keys(s3, "modelhub-test") == sorted([
        f"{prefix}thumbs/row1-0.webp", f"{prefix}thumbs/row2-0.webp", f"{prefix}thumbs/row2-1.webp",
        f"{prefix}upload/data/data.jsonl", f"{prefix}upload/data/images/blue.jpg",
        f"{prefix}upload/data/images/green.webp", f"{prefix}upload/data/images/red.png"])
    folder = staging.stage(dataset, "s3")
    name = dataset.llamafactory_name
    staged = sorted(k for k in all_keys(s3, "modelhub-test") if k.startswith(f"{prefix}staged/"))
    assert staged == sorted(f"{prefix}staged/{k}" for k in (
        "dataset_info.json", f"{name}.jsonl", "images/blue.jpg", "images/green.webp", "images/red.png"))
    body = s3.get_object(Bucket="modelhub-test", Key=f"{prefix}staged/{name}.jsonl")["Body"].read().decode()
    assert _staged_rows(body)[0]["images"] == [f"{name}/images/red.png"]

    dataset.refresh_from_db()
    ctx = job_context({"datasets": [dataset]})
    assert ctx.datasets[0].staged_uri == folder
    assert dataset_info(ctx)[name]["file_name"] == f"{name}/{name}.jsonl"
    assert dataset_info(ctx)[name]["columns"]["images"] == "images"

    dataset.delete()
    assert not any(k.startswith(prefix) for k in all_keys(s3, "modelhub-test"))


# Bad input: reported by row --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_missing_image_is_reported_by_row(user_api, storage_dir, own_tempdir):
    members = good_members()
    members["data.jsonl"] += rows_with(["images/red.png", "images/missing.png"])
    report = refused_by_row(user_api, make_zip(members), storage_dir, own_tempdir)
    assert report["errors"] == [{"row": 4, "problem": "image 'images/missing.png' is missing from the dataset's files"}]


@pytest.mark.django_db
def test_an_image_that_does_not_decode_is_reported_by_row(user_api, storage_dir, own_tempdir):
    members = {"data.jsonl": rows_with(["images/red.png"]) + rows_with(["images/broken.png"]),
               "images/red.png": good_members()["images/red.png"],
               "images/broken.png": (IMAGES / "not_an_image.png").read_bytes()}
    report = refused_by_row(user_api, make_zip(members), storage_dir, own_tempdir)
    assert len(report["errors"]) == 1 and report["errors"][0]["row"] == 2
    assert report["errors"][0]["problem"].startswith("image 'images/broken.png' does not decode as an image")


@pytest.mark.django_db
def test_a_decompression_bomb_image_is_refused_before_decoding(user_api, storage_dir, own_tempdir):
    members = {"data.jsonl": rows_with(["bomb.png"]), "bomb.png": png_header_bomb()}
    report = refused_by_row(user_api, make_zip(members), storage_dir, own_tempdir)
    assert report["errors"] == [{"row": 1, "problem": "image 'bomb.png' has more pixels than the limit of 50,000,000"}]


@pytest.mark.django_db
def test_the_pixel_limit_is_a_setting(user_api, settings, storage_dir, own_tempdir):
    settings.DATASET_MAX_IMAGE_PIXELS = 1000  # red.png is 64×48 = 3,072 pixels
    members = {"data.jsonl": rows_with(["images/red.png"]), "images/red.png": good_members()["images/red.png"]}
    report = refused_by_row(user_api, make_zip(members), storage_dir, own_tempdir)
    assert report["errors"] == [{"row": 1, "problem": "image 'images/red.png' has more pixels than the limit of "
                                                      "1,000 (64×48)"}]


@pytest.mark.django_db
@pytest.mark.parametrize("path, problem", [
    ("../outside.png", "is not a path inside the dataset's folder"),
    ("/etc/hostname", "is not a path inside the dataset's folder"),
    ("https://example.com/cat.png", "is not a path inside the dataset's folder"),
])
def test_an_image_path_outside_the_dataset_is_reported_by_row(user_api, storage_dir, own_tempdir, path, problem):
    report = refused_by_row(user_api, make_zip({"data.jsonl": rows_with([path])}), storage_dir, own_tempdir)
    assert report["errors"] == [{"row": 1, "problem": f"image '{path}' {problem}"}]


@pytest.mark.django_db
def test_placeholders_must_match_the_images(user_api, storage_dir, own_tempdir):
    members = {"data.jsonl": rows_with(["images/red.png"], placeholders=0),
               "images/red.png": good_members()["images/red.png"]}
    report = refused_by_row(user_api, make_zip(members), storage_dir, own_tempdir)
    assert report["errors"][0]["row"] == 1
    assert "names 1 image(s) but its text has 0 '<image>' placeholder(s)" in report["errors"][0]["problem"]


# Bad input: the archive refused as a whole ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("build, members, symlinks, words", [
    (make_zip, {"../evil.png": b"x"}, None, "points outside the archive's folder"),
    (make_zip, {"/tmp/evil.png": b"x"}, None, "has an absolute or Windows path"),
    (make_zip, {"a/../../evil.png": b"x"}, None, "points outside the archive's folder"),
    (make_zip, {}, {"images/red.png": "/etc/passwd"}, "is a symbolic link"),
    (make_tar_gz, {"../evil.png": b"x"}, None, "points outside the archive's folder"),
    (make_tar_gz, {}, {"images/red.png": "/etc/passwd"}, "is a link"),
])
def test_paths_outside_the_archive_folder_are_refused(user_api, storage_dir, own_tempdir, tmp_path,
                                                     build, members, symlinks, words):
    name = "pictures.zip" if build is make_zip else "pictures.tar.gz"
    data = build({"data.jsonl": rows_with([]), **members}, symlinks=symlinks)
    dataset = refused_whole(user_api, data, storage_dir, own_tempdir, name)
    assert words in dataset.status_reason
    assert not (tmp_path / "evil.png").exists() and not (own_tempdir / "evil.png").exists()


@pytest.mark.django_db
def test_a_zip_bomb_is_refused_by_its_declared_size(user_api, settings, storage_dir, own_tempdir):
    settings.DATASET_MAX_UNPACKED_MB = 5
    data = make_zip({"data.jsonl": rows_with([]), "zeros.bin": b"\0" * (64 * 1024 * 1024)})
    assert len(data) < 200_000  # 64 MB of zeros deflate to ~64 KB
    dataset = refused_whole(user_api, data, storage_dir, own_tempdir)
    assert "declares more than 5 MB once unpacked" in dataset.status_reason


@pytest.mark.django_db
def test_a_tar_gz_bomb_is_refused_while_streaming(user_api, settings, storage_dir, own_tempdir):
    settings.DATASET_MAX_UNPACKED_MB = 5
    members = {"data.jsonl": rows_with([]), **{f"zeros{i}.bin": b"\0" * (2 * 1024 * 1024) for i in range(4)}}
    dataset = refused_whole(user_api, make_tar_gz(members), storage_dir, own_tempdir, "pictures.tar.gz")
    assert "more than 5 MB once unpacked" in dataset.status_reason


@pytest.mark.django_db
def test_too_many_entries_are_refused(user_api, settings, storage_dir, own_tempdir):
    settings.DATASET_MAX_ARCHIVE_ENTRIES = 10
    members = {"data.jsonl": rows_with([]), **{f"images/{i}.png": b"x" for i in range(20)}}
    dataset = refused_whole(user_api, make_zip(members), storage_dir, own_tempdir)
    assert "more than 10 entries" in dataset.status_reason


@pytest.mark.django_db
@pytest.mark.parametrize("members, words", [
    ({"images/red.png": b"x"}, "holds no .json or .jsonl data file"),
    ({"a.jsonl": rows_with([]), "b.json": b"[]"}, "holds several data files"),
])
def test_an_archive_needs_exactly_one_data_file(user_api, storage_dir, own_tempdir, members, words):
    dataset = refused_whole(user_api, make_zip(members), storage_dir, own_tempdir)
    assert words in dataset.status_reason


@pytest.mark.django_db
def test_an_archive_over_the_upload_limit_is_refused_before_a_row_exists(user_api, settings, storage_dir, own_tempdir):
    settings.DATASET_MAX_UPLOAD_MB = 1
    import os

    members = {**good_members(), "images/noise.bin": os.urandom(1_200_000)}  # random: does not compress
    response = upload(user_api, make_zip(members))
    assert response.status_code == 400
    assert "limit is 1 MB" in response.json()["errors"]["file"][0]
    assert not Dataset.objects.filter(owner__username="alice").exists()
    assert files_under(storage_dir) == []


@pytest.mark.django_db
def test_a_file_named_zip_that_is_not_one_is_refused_in_the_request(user_api, storage_dir):
    response = upload(user_api, b'{"text": "hello"}\n')
    assert response.status_code == 400
    assert "not a zip archive" in response.json()["errors"]["file"][0]
    assert not Dataset.objects.filter(owner__username="alice").exists() and files_under(storage_dir) == []


# A registered S3 prefix holding the data and its images ----------------------------------------------------


def _register_prefix(s3, user, members: dict[str, bytes], django_capture_on_commit_callbacks) -> Dataset:
    for key, body in members.items():
        s3.put_object(Bucket="user-data", Key=f"pics/{key}", Body=body)
    with django_capture_on_commit_callbacks(execute=False):  # validated below, on "the worker"
        dataset = services.register(owner=user, name="Prefix pics", source="s3", source_uri="s3://user-data/pics/")
    validate_dataset.run(dataset.pk)
    dataset.refresh_from_db()
    return dataset


@pytest.mark.django_db
def test_a_registered_prefix_with_images_is_checked_and_staged_in_the_media_layout(
        s3, user, django_capture_on_commit_callbacks):
    dataset = _register_prefix(s3, user, good_members(), django_capture_on_commit_callbacks)
    assert dataset.status == "ready", dataset.status_reason
    assert dataset.layout["columns"]["images"] == "images"
    user_keys = all_keys(s3, "user-data")

    folder = staging.stage(dataset, "s3")
    name = dataset.llamafactory_name
    prefix = f"modelhub/datasets/ds-prefix-pics-{dataset.pk}/staged/"
    assert folder == f"s3://modelhub-test/{prefix}"
    assert sorted(k for k in all_keys(s3, "modelhub-test")) == sorted(f"{prefix}{k}" for k in (
        "dataset_info.json", f"{name}/data.jsonl", "images/blue.jpg", "images/green.webp", "images/red.png"))
    body = s3.get_object(Bucket="modelhub-test", Key=f"{prefix}{name}/data.jsonl")["Body"].read().decode()
    assert _staged_rows(body)[1]["images"] == [f"{name}/images/blue.jpg", f"{name}/images/green.webp"]
    dataset.delete()
    assert all_keys(s3, "user-data") == user_keys  # the user's prefix is never touched


@pytest.mark.django_db
def test_a_registered_prefix_with_a_missing_image_is_reported_by_row(s3, user, django_capture_on_commit_callbacks):
    members = {"data.jsonl": rows_with(["images/red.png"]) + rows_with(["images/gone.png"]),
               "images/red.png": good_members()["images/red.png"]}
    dataset = _register_prefix(s3, user, members, django_capture_on_commit_callbacks)
    assert dataset.status == "invalid"
    assert dataset.report["errors"] == [
        {"row": 2, "problem": "image 'images/gone.png' is missing from the dataset's files"}]


def test_a_member_that_unpacks_past_its_declared_size_is_stopped_while_streaming():
    """Real zip and tar readers stop at the declared size themselves; the count is the guard if one does not."""
    from apps.catalog import archives
    from apps.catalog.readers import FileRejected

    member = archives._Member("liar.bin", 10, False, None)
    out = io.BytesIO()
    with pytest.raises(FileRejected, match="unpacks to more than the size it declares"):
        archives._copy_counted(io.BytesIO(b"\0" * (3 * 1024 * 1024)), out, member, 0, archives.ArchiveLimits(max_entries=10, max_unpacked_bytes=4 * 1024**3))
    assert out.getvalue() == b""  # the first oversized chunk is never written


@pytest.mark.django_db
def test_a_lone_data_file_naming_images_reports_them_missing(user_api, storage_dir):
    data = good_members()["data.jsonl"]
    response = upload(user_api, data, "data.jsonl")
    assert response.status_code == 201 and response.json()["status"] == "invalid"
    report = user_api.get(f"/api/v1/datasets/{response.json()['id']}/report").json()["report"]
    assert [e["row"] for e in report["errors"]] == [1, 2]  # row 3 names no image
    assert report["errors"][0]["problem"] == "image 'images/red.png' is missing from the dataset's files"
    assert files_under(storage_dir) == []
