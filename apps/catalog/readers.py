"""Streaming row readers for dataset files: JSON (an array), JSON Lines, CSV and Parquet.

Nothing reads a whole file into memory, and nothing a file declares can make a reader hold more than
`Bounds` allows: a row is at most `row_bytes` once decoded (a longer JSON line or Parquet row is a row
error, read past without being decoded; a longer CSV line or JSON array item rejects the file, as those
cannot be resumed), at most `depth` levels deep (a row error), and Parquet rows are turned into Python
values at most `batch_bytes` at a time. Top-level Parquet strings are read as dictionaries and each row's
decoded size is computed from the dictionary's lengths before any row is expanded, so a tiny file whose
rows all repeat one huge dictionary value (a decompression bomb) costs one copy of that value, not one
per row. Strings nested in lists or structs are decoded by Arrow a batch (1,024 rows) at a time before
they can be measured: docs/reliability.md says what that leaves open.

A problem with the file as a whole raises `FileRejected`; a problem confined to one row is yielded as a
`RowError` so validation can go on.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from apps.core import limits

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


@dataclass(frozen=True)
class Bounds:
    row_bytes: int = 16 * 1024 * 1024
    batch_bytes: int = 64 * 1024 * 1024
    depth: int = limits.MAX_DEPTH

    @classmethod
    def from_settings(cls) -> "Bounds":
        from django.conf import settings

        return cls(row_bytes=settings.DATASET_MAX_ROW_BYTES, batch_bytes=settings.DATASET_MAX_BATCH_BYTES)

    def row_too_large(self, size: int) -> str:
        return f"is {_megabytes(size)} once decoded; one row may be at most {_megabytes(self.row_bytes)}"


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


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


def iter_rows(path: Path, file_type: str, bounds: Bounds | None = None) -> Iterator[tuple[int, object]]:
    """(row number, row) pairs, numbered from 1; a row that cannot be parsed or is over a bound is a RowError."""
    bounds = bounds or Bounds.from_settings()
    readers = {"jsonl": _jsonl_rows, "json": _json_rows, "csv": _csv_rows, "parquet": _parquet_rows}
    for number, row in readers[file_type](path, bounds):
        if not isinstance(row, RowError) and (problem := limits.too_deep(row, bounds.depth)):
            row = RowError(problem)
        yield number, row


def _bounded_lines(fh, bounds: Bounds) -> Iterator[bytes | None]:
    """The file's lines, each read at most `row_bytes` at a time; None stands for a longer line, skipped."""
    while raw := fh.readline(bounds.row_bytes + 1):
        if len(raw) > bounds.row_bytes and not raw.endswith(b"\n"):
            while (rest := fh.readline(_CHUNK)) and not rest.endswith(b"\n"):
                pass
            yield None
            continue
        yield raw


def _jsonl_rows(path: Path, bounds: Bounds):
    row = 0
    with open(path, "rb") as fh:
        for line_number, raw in enumerate(_bounded_lines(fh, bounds), start=1):
            if raw is None:
                row += 1
                yield row, RowError(f"line {line_number} is longer than {_megabytes(bounds.row_bytes)}")
                continue
            if not raw.strip():
                continue
            row += 1
            try:
                text = raw.decode("utf-8-sig" if line_number == 1 else "utf-8")
                yield row, limits.loads(text, max_depth=bounds.depth)
            except UnicodeDecodeError:
                yield row, RowError(f"line {line_number} is not UTF-8 text")
            except limits.LimitExceeded:
                yield row, RowError(f"line {line_number} is nested more than {bounds.depth} levels deep")
            except ValueError as exc:
                yield row, RowError(f"line {line_number} is not valid JSON ({exc.msg} at column {exc.colno})")


class _ItemBudget(io.RawIOBase):
    """A file that refuses to be read further once one JSON array item has taken more than `limit` bytes."""

    def __init__(self, fh, limit: int):
        self.fh, self.limit, self.since_item, self.row = fh, limit, 0, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self.fh.readinto(buffer)
        self.since_item += count
        if self.since_item > self.limit + _CHUNK:
            raise FileRejected("too_large", f"Row {self.row + 1} of the JSON array is larger than "
                                            f"{_megabytes(self.limit)}; one row may be at most that.")
        return count

    def item_done(self, row: int) -> None:
        self.row, self.since_item = row, 0


def _json_rows(path: Path, bounds: Bounds):
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
        budget = _ItemBudget(fh, bounds.row_bytes)
        try:
            yield from _array_items(ijson.basic_parse(budget, use_float=True, buf_size=_CHUNK), budget, bounds)
        except ijson.JSONError as exc:
            raise FileRejected("syntax", f"The JSON is malformed after row {budget.row}: {exc}.") from None


def _array_items(events, budget: _ItemBudget, bounds: Bounds):
    """The items of the top-level array, built from ijson's plain events (ijson's own item builder keeps a
    path per nesting level and needs gigabytes for an item nested 100,000 deep). Past `bounds.depth` an
    item is no longer built, only followed to its end, and comes out as a RowError."""
    from ijson.common import ObjectBuilder

    next(events)  # the array's start: the file was checked to begin with '['
    row, depth, builder, too_deep = 0, 0, None, False
    for event, value in events:
        opens, closes = event in ("start_map", "start_array"), event in ("end_map", "end_array")
        if depth == 0:
            if closes:
                return  # the end of the top-level array
            row += 1
            if not opens:
                budget.item_done(row)
                yield row, value
                continue
            builder, too_deep = ObjectBuilder(), False
        depth += 1 if opens else -1 if closes else 0
        too_deep = too_deep or depth > bounds.depth
        if not too_deep:
            builder.event(event, value)
        if depth == 0:
            budget.item_done(row)
            yield row, RowError(f"is nested more than {bounds.depth} levels deep") if too_deep else builder.value
            builder = None


def _csv_rows(path: Path, bounds: Bounds):
    # A cell may be as long as a row (the csv module's own default is 128 KiB, process-wide).
    csv.field_size_limit(max(csv.field_size_limit(), bounds.row_bytes))
    with open(path, "rb") as raw:
        lines = _bounded_lines(raw, bounds)
        text = codecs.iterdecode(_refuse_long_lines(lines, bounds), "utf-8-sig")
        reader = csv.DictReader(text)
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


def _refuse_long_lines(lines: Iterator[bytes | None], bounds: Bounds) -> Iterator[bytes]:
    for number, line in enumerate(lines, start=1):
        if line is None:
            raise FileRejected("too_large", f"Line {number} of the CSV file is longer than "
                                            f"{_megabytes(bounds.row_bytes)}; one row may be at most that.")
        yield line


def _parquet_rows(path: Path, bounds: Bounds):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.ParquetFile(path).schema
        # Top-level strings stay dictionary-encoded as stored: a value repeated by many rows is held once.
        # (Arrow cannot do this for strings inside lists or structs; those are decoded batch by batch.)
        text_columns = [schema.column(i).path for i in range(len(schema))
                        if schema.column(i).physical_type == "BYTE_ARRAY" and "." not in schema.column(i).path]
        parquet = pq.ParquetFile(path, read_dictionary=text_columns)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileRejected("syntax", f"The Parquet file cannot be read: {exc}.") from None
    if any(schema.column(i).max_repetition_level + schema.column(i).max_definition_level > 2 * bounds.depth
           for i in range(len(schema))):
        raise FileRejected("syntax", f"The Parquet schema nests more than {bounds.depth} levels deep.")
    row = 0
    try:
        for batch in parquet.iter_batches(batch_size=1024):
            sizes = _row_sizes(batch).to_pylist()
            for start, stop, oversized in _chunks(sizes, bounds):
                if oversized:
                    row += 1
                    yield row, RowError(bounds.row_too_large(sizes[start]))
                    continue
                for record in batch.slice(start, stop - start).to_pylist():
                    row += 1
                    yield row, record
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileRejected("syntax", f"The Parquet file cannot be read after row {row}: {exc}.") from None


def _chunks(sizes: list[int], bounds: Bounds) -> Iterator[tuple[int, int, bool]]:
    """(start, stop, oversized) runs of rows: each run decodes to at most `batch_bytes`; a row over
    `row_bytes` is a run of its own, marked oversized (it is reported, never decoded)."""
    start, total = 0, 0
    for index, size in enumerate(sizes):
        if size > bounds.row_bytes:
            if index > start:
                yield start, index, False
            yield index, index + 1, True
            start, total = index + 1, 0
            continue
        if total + size > bounds.batch_bytes and index > start:
            yield start, index, False
            start, total = index, 0
        total += size
    if start < len(sizes):
        yield start, len(sizes), False


def _row_sizes(batch):
    """Bytes each row of a record batch takes once decoded, computed without decoding anything."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = pa.array([0] * batch.num_rows, pa.int64())
    for column in batch.columns:
        total = pc.add(total, _value_sizes(column))
    return total


def _value_sizes(array):
    """Per element of an Arrow array: the bytes of its strings and scalars, nested values summed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_dictionary(kind):
        sizes = pc.take(_value_sizes(array.dictionary), array.indices)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind) \
            or pa.types.is_large_binary(kind):
        sizes = pc.cast(pc.binary_length(array), pa.int64())
    elif pa.types.is_struct(kind):
        sizes = pa.array([0] * len(array), pa.int64())
        for child in array.flatten():
            sizes = pc.add(sizes, _value_sizes(child))
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_map(kind):
        # Sum the child sizes between each element's offsets, through a running total.
        running = pc.cumulative_sum(_value_sizes(array.values)).to_pylist()
        running.insert(0, 0)
        offsets = array.offsets.to_pylist()
        sizes = pa.array([running[b] - running[a] for a, b in zip(offsets, offsets[1:])], pa.int64())
    else:
        width = kind.bit_width // 8 if pa.types.is_primitive(kind) and kind.bit_width >= 8 else 8
        sizes = pa.array([width] * len(array), pa.int64())
    return pc.fill_null(sizes, 0)
