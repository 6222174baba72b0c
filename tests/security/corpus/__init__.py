"""The hostile-input corpus: small files kept here (bad encodings, broken syntax), and builders for the ones
too large or too binary to keep (compression bombs, deep nesting, huge fields, disguised archives).

Each case says what must come of it: `refused` (400 with a field error on upload, nothing stored) or
`invalid` (accepted, then marked invalid by validation with a row error, its file removed) or `ready`.
"""

import gzip
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
MB = 1024 * 1024


@dataclass(frozen=True)
class Case:
    name: str  # the upload's file name
    build: object  # () -> bytes
    outcome: str  # "refused", "invalid" or "ready"
    words: str  # found in the field error or the status reason
    bomb: bool = False  # measured for memory growth


def _static(name):
    return lambda: (HERE / name).read_bytes()


def parquet_dictionary_bomb() -> bytes:
    """About 550 bytes: 300 rows repeating one 2 MB string through the column's dictionary (600 MB decoded)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    column = pa.DictionaryArray.from_arrays(pa.array([0] * 300, pa.int32()), pa.array(["x" * (2 * MB)]))
    out = io.BytesIO()
    pq.write_table(pa.table({"text": column}), out, use_dictionary=True, compression="zstd")
    return out.getvalue()


def parquet_oversized_rows() -> bytes:
    """Rows of 20 MB each (over the 16 MB row bound), a few hundred bytes on disk."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    column = pa.DictionaryArray.from_arrays(pa.array([0] * 40, pa.int32()), pa.array(["y" * (20 * MB)]))
    out = io.BytesIO()
    pq.write_table(pa.table({"text": column}), out, use_dictionary=True, compression="zstd")
    return out.getvalue()


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


CASES = [
    Case("dictionary_bomb.parquet", parquet_dictionary_bomb, "ready", "300 rows", bomb=True),
    Case("oversized_rows.parquet", parquet_oversized_rows, "refused", "is 20.0 MB once decoded; one row may be at most",
         bomb=True),
    Case("deep_5000.jsonl", lambda: (json.dumps({"text": "ok"}) + '\n{"text": ' + deep(5000) + "}\n").encode(),
         "invalid", "nested more than 64 levels deep"),
    Case("deep_100000.json", lambda: ('[{"text": "ok"}, {"text": ' + deep(100_000) + "}]").encode(),
         "invalid", "nested more than 64 levels deep", bomb=True),
    Case("huge_field.jsonl", lambda: (json.dumps({"text": "ok"}) + "\n" + json.dumps({"text": "z" * (20 * MB)})
                                      + "\n").encode(), "invalid", "is longer than 16.0 MB", bomb=True),
    Case("huge_field.csv", lambda: b"text\nok\n" + b"z" * (20 * MB) + b"\n", "refused",
         "longer than 16.0 MB; one row may be at most that"),
    Case("huge_item.json", lambda: b'[{"text": "ok"}, {"text": "' + b"z" * (20 * MB) + b'"}]', "refused",
         "larger than 16.0 MB"),
    Case("gzip_in_disguise.jsonl", lambda: gzip.compress(b'{"text": "a"}\n' * 100_000), "refused", "not UTF-8"),
    Case("zip_in_disguise.parquet", lambda: _zip(), "refused", "not a Parquet file"),
    Case("archive.jsonl.gz", lambda: gzip.compress(b'{"text": "a"}\n'), "refused", "Unsupported file type"),
    Case("overlong_utf8.jsonl", _static("overlong_utf8.jsonl"), "refused", "not UTF-8"),
    Case("surrogate_utf8.jsonl", _static("surrogate_utf8.jsonl"), "refused", "not UTF-8"),
    Case("bom_only.jsonl", _static("bom_only.jsonl"), "refused", "empty"),
    Case("nul_bytes.jsonl", _static("nul_bytes.jsonl"), "refused", "No row could be read"),
    Case("nul_escape.jsonl", _static("nul_escape.jsonl"), "ready", "2 rows"),
    Case("unterminated.csv", _static("unterminated.csv"), "ready", "1 rows"),
    Case("truncated.json", _static("truncated.json"), "refused", "malformed"),
]

# File names that try to leave the dataset's folder; each must be stored inside it, under a safe name.
PATH_TRICKS = ["../../../../etc/cron.d/x.jsonl", "..\\..\\windows\\x.jsonl", "a/b/../../../c.jsonl",
               "/abs/path.jsonl", ".jsonl", "x" * 400 + ".jsonl", "con.jsonl", "name\u202egnp.jsonl"]


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.parquet", b"\0" * MB)
    return out.getvalue()
