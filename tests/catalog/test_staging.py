"""Staging writes data + dataset_info.json (+ the EasyR1 layout) under the dataset's own prefix; delete removes only that."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.backends import storage
from apps.catalog import services, staging
from apps.catalog.models import Dataset
from apps.catalog.tasks import validate_dataset

from .conftest import CORPUS, all_keys, files_under


def upload(owner, name, corpus, **kwargs):
    path = CORPUS / corpus
    return services.create_from_upload(owner=owner, name=name,
                                       uploaded_file=SimpleUploadedFile(path.name, path.read_bytes()), **kwargs)


def read_json(client, bucket, key):
    return json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())


@pytest.mark.django_db
def test_stage_to_s3_writes_data_and_dataset_info_under_its_own_prefix(s3, user, storage_dir):
    dataset = upload(user, "Chat A", "good/sharegpt.jsonl")
    neighbour = upload(user, "Chat A", "good/openai.jsonl")  # same name: still its own prefix
    s3.put_object(Bucket="modelhub-test", Key="modelhub/jobs/mh-job-1/config/train.yaml", Body=b"x")

    folder = staging.stage(dataset, "s3")
    staging.stage(neighbour, "s3")

    prefix = f"modelhub/datasets/ds-chat-a-{dataset.pk}/staged/"
    assert folder == f"s3://modelhub-test/{prefix}"
    name = dataset.llamafactory_name
    mine = [k for k in all_keys(s3, "modelhub-test") if k.startswith(prefix)]
    assert mine == [f"{prefix}dataset_info.json", f"{prefix}{name}.jsonl"]
    assert s3.get_object(Bucket="modelhub-test", Key=f"{prefix}{name}.jsonl")["Body"].read() == (
        CORPUS / "good/sharegpt.jsonl").read_bytes()
    info = read_json(s3, "modelhub-test", f"{prefix}dataset_info.json")
    assert info == {name: {"file_name": f"{name}.jsonl", "formatting": "sharegpt",
                           "columns": {"messages": "conversations"}}}
    dataset.refresh_from_db()
    assert dataset.staged == {"s3": folder}

    before = all_keys(s3, "modelhub-test")
    dataset.delete()
    after = all_keys(s3, "modelhub-test")
    assert [k for k in before if k not in after] == mine  # exactly what was staged for it
    assert "modelhub/jobs/mh-job-1/config/train.yaml" in after
    assert any(k.startswith(f"modelhub/datasets/ds-chat-a-{neighbour.pk}/") for k in after)
    assert not any(f"ds-chat-a-{dataset.pk}/" in f for f in files_under(storage_dir))  # the upload went too


@pytest.mark.django_db
def test_prompt_answer_data_gets_the_easyr1_layout_with_a_split(s3, user):
    dataset = upload(user, "Maths", "good/prompt_answer.jsonl", val_fraction=0.34)
    folder = staging.stage(dataset, "s3")
    _, prefix = storage.split_s3(folder)
    train = s3.get_object(Bucket="modelhub-test", Key=f"{prefix}easyr1/train.jsonl")["Body"].read().decode()
    val = s3.get_object(Bucket="modelhub-test", Key=f"{prefix}easyr1/val.jsonl")["Body"].read().decode()
    train_rows = [json.loads(line) for line in train.splitlines()]
    val_rows = [json.loads(line) for line in val.splitlines()]
    assert len(train_rows) == 2 and len(val_rows) == 1  # every third row is held out
    assert val_rows == [{"problem": "How many sides has a hexagon?", "answer": "6"}]
    config = read_json(s3, "modelhub-test", f"{prefix}easyr1/easyr1.json")
    assert config == {"train_files": f"{folder}easyr1/train.jsonl@train", "val_files": f"{folder}easyr1/val.jsonl@train",
                      "prompt_key": "problem", "answer_key": "answer"}
    entry = read_json(s3, "modelhub-test", f"{prefix}dataset_info.json")[dataset.llamafactory_name]
    assert entry["columns"] == {"prompt": "problem", "response": "answer"}


@pytest.mark.django_db
def test_registered_s3_prefix_is_validated_staged_and_never_deleted(s3, user, django_capture_on_commit_callbacks):
    for i, name in enumerate(["part-1.jsonl", "part-2.jsonl"]):
        s3.put_object(Bucket="user-data", Key=f"team/prefs/{name}",
                      Body=(CORPUS / "good/preference_alpaca.jsonl").read_bytes())
    s3.put_object(Bucket="user-data", Key="team/prefs/README.md", Body=b"notes")
    with django_capture_on_commit_callbacks(execute=False):
        dataset = services.register(owner=user, name="Team prefs", source="s3", source_uri="s3://user-data/team/prefs/")
    assert dataset.status == "validating"
    validate_dataset.run(dataset.pk)
    dataset.refresh_from_db()
    assert dataset.status == "ready", dataset.status_reason
    assert dataset.format == "preference" and dataset.row_count == 4 and dataset.job_types == ["dpo", "rm"]

    folder = staging.stage(dataset, "s3")
    _, prefix = storage.split_s3(folder)
    name = dataset.llamafactory_name
    assert sorted(k for k in all_keys(s3, "modelhub-test") if k.startswith(prefix)) == [
        f"{prefix}dataset_info.json", f"{prefix}{name}/part-1.jsonl", f"{prefix}{name}/part-2.jsonl"]
    info = read_json(s3, "modelhub-test", f"{prefix}dataset_info.json")[name]
    assert info["file_name"] == name and info["ranking"] is True

    user_keys = all_keys(s3, "user-data")
    dataset.delete()
    assert all_keys(s3, "user-data") == user_keys == ["team/prefs/README.md", "team/prefs/part-1.jsonl",
                                                      "team/prefs/part-2.jsonl"]
    assert not [k for k in all_keys(s3, "modelhub-test") if k.startswith(prefix)]


@pytest.mark.django_db
def test_registered_prefix_with_broken_rows_reports_file_and_row(s3, user, django_capture_on_commit_callbacks):
    s3.put_object(Bucket="user-data", Key="d/a.jsonl", Body=(CORPUS / "good/openai.jsonl").read_bytes())
    s3.put_object(Bucket="user-data", Key="d/b.jsonl", Body=(CORPUS / "broken/openai_roles_out_of_order.jsonl").read_bytes())
    with django_capture_on_commit_callbacks(execute=False):
        dataset = services.register(owner=user, name="d", source="s3", source_uri="s3://user-data/d/")
    validate_dataset.run(dataset.pk)
    dataset.refresh_from_db()
    assert dataset.status == "invalid"
    assert dataset.report["errors"] == [{"row": 2, "problem": "roles out of order: turn 2 is 'user' where an "
                                         "assistant turn was expected", "file": "b.jsonl"}]


@pytest.mark.django_db
def test_registered_prefix_without_data_is_invalid(s3, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        dataset = services.register(owner=user, name="empty", source="s3", source_uri="s3://user-data/nothing/")
    validate_dataset.run(dataset.pk)
    dataset.refresh_from_db()
    assert dataset.status == "invalid" and "No .jsonl, .json, .csv or .parquet files" in dataset.status_reason


@pytest.mark.django_db
def test_stage_to_the_local_store_and_delete(user, storage_dir):
    dataset = upload(user, "Local", "good/alpaca.json")
    folder = staging.stage(dataset, "local")
    root = f"datasets/ds-local-{dataset.pk}/"
    name = dataset.llamafactory_name
    assert files_under(storage_dir) == [f"{root}staged/dataset_info.json", f"{root}staged/{name}.json",
                                        f"{root}upload/alpaca.json"]
    info = json.loads(storage.local_path(folder + "dataset_info.json").read_text())
    assert info[name]["file_name"] == f"{name}.json" and "formatting" not in info[name]
    other = upload(user, "Other", "good/text.jsonl")
    dataset.delete()
    assert files_under(storage_dir) == [f"datasets/ds-other-{other.pk}/upload/text.jsonl"]


@pytest.mark.django_db
def test_uploads_can_be_kept_in_s3(s3, user, settings):
    settings.DATASET_STORE = "s3"
    dataset = upload(user, "In S3", "good/kto.jsonl")
    assert dataset.status == "ready"
    assert dataset.storage_uri == f"s3://modelhub-test/modelhub/datasets/ds-in-s3-{dataset.pk}/upload/kto.jsonl"
    entry = dataset.llamafactory_entry()
    assert entry["columns"] == {"messages": "messages", "kto_tag": "label"} and entry["tags"]["role_tag"] == "role"
    dataset.delete()
    assert all_keys(s3, "modelhub-test") == []


def test_delete_refuses_anything_outside_modelhub_storage(settings, tmp_path):
    settings.STORAGE_DIR, settings.S3_BUCKET, settings.S3_PREFIX = tmp_path / "store", "modelhub-test", "modelhub"
    for uri in ("s3://user-data/team/", "s3://modelhub-test/other/", "s3://modelhub-test/modelhub/",
                (tmp_path / "elsewhere").as_uri() + "/", (tmp_path / "store").as_uri() + "/",
                "s3://modelhub-test/modelhub/datasets/x"):
        with pytest.raises(storage.StorageError):
            storage.delete_prefix(uri)


@pytest.mark.django_db
def test_builtin_and_hf_entries(user):
    builtin = Dataset.objects.get(source="builtin", source_uri="alpaca_en_demo")
    assert builtin.status == "ready" and builtin.shared and builtin.llamafactory_entry() is None
    assert staging.stage(builtin, "s3") is None
    hf = services.register(owner=user, name="HF chat", source="hf", source_uri="org/chat", fmt="openai")
    assert hf.status == "ready"
    entry = hf.llamafactory_entry()
    assert entry["hf_hub_url"] == "org/chat" and entry["formatting"] == "sharegpt"
    assert staging.easyr1_config(Dataset.objects.get(source_uri="hiyouga/math12k"))["train_files"] == "hiyouga/math12k@train"


@pytest.mark.django_db
def test_staging_that_fails_part_way_is_not_marked_staged_but_is_cleaned_up(user, storage_dir):
    from unittest import mock

    dataset = upload(user, "Half", "good/prompt_answer.jsonl")
    with mock.patch("apps.catalog.staging._stage_easyr1", side_effect=RuntimeError("disk full")):
        with pytest.raises(RuntimeError):
            staging.stage(dataset, "local")
    dataset.refresh_from_db()
    assert "local" not in dataset.staged  # a job would stage it again
    assert any(f.endswith("staged/dataset_info.json") for f in files_under(storage_dir))
    dataset.delete()
    assert files_under(storage_dir) == []
