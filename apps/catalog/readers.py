"""Streaming row readers for dataset files: JSON (an array), JSON Lines, CSV and Parquet.

Nothing reads a whole file into memory: JSON arrays are parsed incrementally (ijson), JSON Lines
and CSV line by line, Parquet batch by batch. A problem with the file as a whole raises
`FileRejected`; a problem confined to one row is yielded as a `RowError` so validation can go on.
"""

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FILE_TYPES = ("jsonl", "json", "csv", "parquet")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
_CHUNK = 1024 * 1024
_PARQUET_MAGIC = b"PAR1"


class FileRejected(Exception):
    """The file cannot be used at all. `code` is one of: empty, encoding, file_type, syntax, unknown_format, too_large."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RowError:
    problem: str


def file_type_for(name: str) -> str:
    suffix = Path(name.lower()).suffix
    if suffix not in _EXTENSIONS:
        raise FileRejected(
            "file_type",
            f"Unsupported file type “{suffix or name}”. Upload .jsonl, .json, .csv or .parquet.",
        )
    return _EXTENSIONS[suffix]


def check_text(path: Path) -> None:
    """Reject empty files and files that are not UTF-8 text, reading in chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    line, seen_text = 1, False
    with open(path, "rb") as fh:
        first = fh.read(4)
        if not first:
            raise FileRejected("empty", "The file is empty.")
        if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise FileRejected("encoding", "The file is UTF-16 text. Save it as UTF-8 and upload it again.")
        fh.seek(0)
        offset = 0
        while chunk := fh.read(_CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad_at = offset + exc.start
                line += chunk[: exc.start].count(b"\n")
                raise FileRejected(
                    "encoding",
                    f"The file is not UTF-8 text: byte 0x{chunk[exc.start]:02x} at line {line} (offset {bad_at}) "
                    "cannot be decoded. Save it as UTF-8 and upload it again.",
                ) from None
            seen_text = seen_text or bool(text.strip().strip("\ufeff"))
            line += chunk.count(b"\n")
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise FileRejected("encoding", "The file is not UTF-8 text: it ends in the middle of a character.") from None
    if not seen_text:
        raise FileRejected("empty", "The file is empty (only whitespace).")


def check_file(path: Path, file_type: str) -> None:
    """File-level checks that need no parsing: not empty, right encoding, Parquet magic."""
    if file_type == "parquet":
        with open(path, "rb") as fh:
            head = fh.read(4)
        if not head:
            raise FileRejected("empty", "The file is empty.")
        if head != _PARQUET_MAGIC:
            raise FileRejected("file_type", "The file has a .parquet name but is not a Parquet file.")
        return
    check_text(path)


def iter_rows(path: Path, file_type: str) -> Iterator[tuple[int, object]]:
    """(row number, row) pairs, numbered from 1; a row that cannot be parsed comes as a RowError."""
    readers = {"jsonl": _jsonl_rows, "json": _json_rows, "csv": _csv_rows, "parquet": _parquet_rows}
    return readers[file_type](path)


def _jsonl_rows(path: Path):
    row = 0
    with open(path, "rb") as fh:
        for line_number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            row += 1
            try:
                text = raw.decode("utf-8-sig" if line_number == 1 else "utf-8")
                yield row, json.loads(text)
            except UnicodeDecodeError:
                yield row, RowError(f"line {line_number} is not UTF-8 text")
            except json.JSONDecodeError as exc:
                yield row, RowError(f"line {line_number} is not valid JSON ({exc.msg} at column {exc.colno})")


def _json_rows(path: Path):
    import ijson

    with open(path, "rb") as fh:
        start = fh.read(_CHUNK).lstrip(codecs.BOM_UTF8).lstrip()
        if start.startswith(b"{"):
            raise FileRejected(
                "syntax",
                "The .json file holds one object, not a list of rows. Put the rows in a JSON array, "
                "or upload JSON Lines (.jsonl, one object per line).",
            )
        if not start.startswith(b"["):
            raise FileRejected("syntax", "The .json file does not start with a JSON array ('[').")
        fh.seek(0)
        if fh.read(3) != codecs.BOM_UTF8:
            fh.seek(0)
        row = 0
        try:
            for row, item in enumerate(ijson.items(fh, "item", use_float=True), start=1):
                yield row, item
        except ijson.JSONError as exc:
            raise FileRejected("syntax", f"The JSON is malformed after row {row}: {exc}.") from None


def _csv_rows(path: Path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            raise FileRejected("empty", "The CSV file has no header row.")
        fields = [f.strip() for f in reader.fieldnames]
        if len(set(fields)) != len(fields) or any(not f for f in fields):
            raise FileRejected("syntax", "The CSV header has empty or repeated column names.")
        try:
            for row, record in enumerate(reader, start=1):
                if None in record:
                    yield row, RowError(f"has {len(fields) + len(record[None])} cells but the header has {len(fields)}")
                    continue
                yield row, {name.strip(): value for name, value in record.items()}
        except csv.Error as exc:
            raise FileRejected("syntax", f"The CSV is malformed: {exc}.") from None


def _parquet_rows(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileRejected("syntax", f"The Parquet file cannot be read: {exc}.") from None
    row = 0
    for batch in parquet.iter_batches(batch_size=1024):
        for record in batch.to_pylist():
            row += 1
            yield row, record


def write_jsonl(rows, fh: io.BufferedWriter) -> int:
    count = 0
    for row in rows:
        fh.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")
        count += 1
    return count
