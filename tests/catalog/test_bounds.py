"""Bounded reading of hostile dataset files: decompression bombs, deep nesting, huge rows and fields.

Every case must end as a row error or a refused file (4xx with a field error, or a dataset marked
invalid), never a 500, never a dataset left validating, and the Parquet bomb must not grow the process.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.catalog.inspection import inspect
from apps.catalog.models import Dataset
from apps.catalog.readers import Bounds, FileRejected, RowError, iter_rows
from tests.security.memory import peak_growth_mb

from .conftest import files_under

TWO_MB = 2 * 1024 * 1024


def parquet_bomb(path, rows=300, value_bytes=TWO_MB, nested=False):
    """A few hundred bytes on disk: every row repeats one huge, highly compressible dictionary value."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    value = "x" * value_bytes
    if nested:
        column = pa.array([[{"role": "user", "content": "hi"}]] * rows)
        table = pa.table({"messages": column, "text": pa.DictionaryArray.from_arrays(
            pa.array([0] * rows, pa.int32()), pa.array([value]))})
    else:
        table = pa.table({"text": pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()),
                                                                 pa.array([value]))})
    pq.write_table(table, path, use_dictionary=True, compression="zstd")
    return path


def deep(levels: int):
    return "[" * levels + "1" + "]" * levels


def test_the_549_byte_parquet_bomb_is_read_one_row_at_a_time(tmp_path):
    path = parquet_bomb(tmp_path / "bomb.parquet")
    assert path.stat().st_size < 1024
    growth, result = peak_growth_mb(
        "from pathlib import Path\nfrom apps.catalog.inspection import inspect",
        f"r = inspect(Path({str(path)!r}), 'parquet')\nresult = [r.row_count, r.error_count, r.layout.format]",
    )
    assert result == [300, 0, "text"]  # 2 MB rows are allowed: all read, none kept
    # Fully decoded the file is 600 MB (it grew the web process by about 534 MB before); one row is 2 MB.
    assert growth < 80, f"reading the bomb grew the process by {growth:.0f} MB"


def test_a_parquet_row_over_the_row_bound_is_a_row_error_and_never_decoded(tmp_path):
    path = parquet_bomb(tmp_path / "bomb.parquet", rows=50, value_bytes=8 * TWO_MB)
    bounds = Bounds(row_bytes=TWO_MB, batch_bytes=4 * TWO_MB)
    rows = list(iter_rows(path, "parquet", bounds))
    assert len(rows) == 50
    assert all(isinstance(row, RowError) and "is 16.0 MB once decoded" in row.problem for _, row in rows)


def test_parquet_rows_with_nested_columns_are_measured_too(tmp_path):
    path = parquet_bomb(tmp_path / "nested.parquet", rows=20, nested=True)
    rows = list(iter_rows(path, "parquet", Bounds(row_bytes=TWO_MB - 1)))
    assert [n for n, _ in rows] == list(range(1, 21))
    assert all(isinstance(row, RowError) for _, row in rows)
    ok = list(iter_rows(path, "parquet", Bounds(row_bytes=TWO_MB + 100)))
    assert ok[0][1]["messages"] == [{"role": "user", "content": "hi"}] and len(ok[0][1]["text"]) == TWO_MB


@pytest.mark.parametrize("file_type, content", [
    ("jsonl", json.dumps({"text": "ok"}) + "\n" + '{"text": ' + deep(5000) + "}\n"),
    ("json", "[" + json.dumps({"text": "ok"}) + ', {"text": ' + deep(5000) + "}]"),
])
def test_a_row_nested_5000_levels_deep_is_a_row_error(tmp_path, file_type, content):
    path = tmp_path / f"deep.{file_type}"
    path.write_text(content)
    result = inspect(path, file_type)
    assert result.row_count == 2 and result.error_count == 1
    assert "nested more than 64 levels deep" in result.errors[0]["problem"] and result.errors[0]["row"] == 2


def test_a_jsonl_line_over_the_row_bound_is_a_row_error_and_reading_goes_on(tmp_path):
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps({"text": "a"}) + "\n" + json.dumps({"text": "b" * 5000}) + "\n"
                    + json.dumps({"text": "c"}) + "\n")
    rows = list(iter_rows(path, "jsonl", Bounds(row_bytes=1000)))
    assert rows[0] == (1, {"text": "a"}) and rows[2] == (3, {"text": "c"})
    assert isinstance(rows[1][1], RowError) and "line 2 is longer than" in rows[1][1].problem


@pytest.mark.parametrize("file_type, content, words", [
    ("csv", "text\nshort\n" + "b" * 5000 + "\n", "Line 3 of the CSV file is longer than"),
    ("json", '[{"text": "a"}, {"text": "' + "b" * (3 * 1024 * 1024) + '"}]', "Row 2 of the JSON array is larger"),
])
def test_rows_that_cannot_be_skipped_reject_the_file(tmp_path, file_type, content, words):
    path = tmp_path / f"long.{file_type}"
    path.write_text(content)
    with pytest.raises(FileRejected) as caught:
        list(iter_rows(path, file_type, Bounds(row_bytes=1000 if file_type == "csv" else 1024 * 1024)))
    assert caught.value.code == "too_large" and words in caught.value.message


def test_csv_cells_longer_than_the_csv_modules_default_are_read(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("text\n" + "w" * 200_000 + "\n")
    assert list(iter_rows(path, "csv", Bounds())) == [(1, {"text": "w" * 200_000})]


@pytest.mark.django_db
def test_a_deeply_nested_upload_is_invalid_not_a_500_nor_stuck(user_api, storage_dir):
    content = (json.dumps({"text": "fine"}) + "\n") * 3 + '{"text": ' + deep(5000) + "}\n"
    response = user_api.post("/api/v1/datasets/", {"name": "deep", "file": SimpleUploadedFile(
        "deep.jsonl", content.encode())}, format="multipart")
    assert response.status_code == 201, response.content
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert dataset.status == "invalid" and "row 4: line 4 is nested more than 64 levels deep" in dataset.status_reason
    assert files_under(storage_dir) == []
    preview = user_api.get(f"/api/v1/datasets/{dataset.pk}/report/")
    assert preview.status_code == 200


@pytest.mark.django_db
def test_a_validation_that_crashes_marks_the_dataset_invalid_instead_of_leaving_it_validating(user, monkeypatch):
    from apps.catalog import services

    dataset = Dataset.objects.create(owner=user, name="x", source="upload", status="validating", format="text",
                                     file_type="jsonl")
    monkeypatch.setattr(services, "_files_of", lambda d: (_ for _ in ()).throw(RecursionError("boom")))
    services.validate(dataset.pk)
    dataset.refresh_from_db()
    assert dataset.status == "invalid" and "could not be read" in dataset.status_reason


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["²", "①", "x²", "\u0663"])
def test_dataset_names_with_unusual_digits_are_accepted_with_an_ascii_llamafactory_name(user_api, storage_dir, name):
    response = user_api.post("/api/v1/datasets/", {"name": name, "file": SimpleUploadedFile(
        "t.jsonl", b'{"text": "a"}\n')}, format="multipart")
    assert response.status_code == 201, response.content
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert dataset.name == name and dataset.status == "ready"
    assert dataset.llamafactory_name.isascii() and dataset.llamafactory_name.startswith(f"mh_{dataset.pk}_")
