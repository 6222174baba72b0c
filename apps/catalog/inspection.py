"""Inspect a dataset file in one streaming pass: detect its format, check every row, count tokens.

`precheck` is the quick part the web request runs before anything is stored (empty file, wrong
encoding, unknown format); `inspect_files` is the full pass, run by the validation task.
"""

import itertools
import statistics
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import rows as row_rules
from .formats import DatasetFormat, job_types_for
from .readers import FileRejected, RowError, check_file, iter_rows
from .rendering import PREVIEW_LABEL, render_chatml
from .rows import Layout
from .tokens import EstimatedCounter, TokenCounter

DETECT_ROWS = 50
MAX_LISTED_ERRORS = 100
PREVIEW_ROWS = 5
PREVIEW_TEXT_CHARS = 600
PREVIEW_KEYS = 50
HEARTBEAT_ROWS = 1000


@dataclass
class Inspection:
    layout: Layout
    row_count: int = 0
    error_count: int = 0
    errors: list[dict] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    preview: list = field(default_factory=list)
    rendered: dict | None = None

    @property
    def valid(self) -> bool:
        return self.error_count == 0 and self.row_count > 0

    @property
    def job_types(self) -> list[str]:
        return job_types_for(self.layout.format)

    def report(self) -> dict:
        return {
            "format": self.layout.format,
            "format_label": DatasetFormat(self.layout.format).label,
            "rows_checked": self.row_count,
            "error_count": self.error_count,
            "errors": self.errors,
            "errors_truncated": self.error_count > len(self.errors),
            "rendered": self.rendered,
        }


def _describe_keys(row) -> str:
    if isinstance(row, dict):
        return "keys " + ", ".join(f"'{k}'" for k in list(row)[:12]) if row else "an empty object"
    return f"{row_rules._type_name(row)} rows"


def detect_layout(head: Iterable[tuple[int, object]]) -> Layout:
    """The layout most of the first rows are in; FileRejected when none of them match a format.

    Rows are looked at one at a time and not kept, so detection holds one row in memory, not DETECT_ROWS.
    """
    votes, layouts = Counter(), {}
    first_error, first_row, seen, parsed = None, None, 0, 0
    for _, row in head:
        seen += 1
        if isinstance(row, RowError):
            first_error = first_error or row
            continue
        parsed += 1
        if first_row is None:
            first_row = _describe_keys(row)
        layout = row_rules.detect(row)
        if layout is not None:
            key = (layout.format, layout.style, tuple(sorted(layout.columns.items())))
            votes[key] += 1
            layouts[key] = layout
    if not seen:
        raise FileRejected("empty", "The file has no rows.")
    if not parsed:
        raise FileRejected("syntax", f"No row could be read (row 1: {first_error.problem}).")
    if not votes:
        raise FileRejected(
            "unknown_format",
            f"Unknown format: the rows have {first_row}. Expected Alpaca (instruction/input/output), "
            "ShareGPT (conversations), OpenAI (messages), preference (chosen/rejected), KTO (a true/false label), "
            "prompt with answer (problem/answer) or plain text (text).",
        )
    return layouts[votes.most_common(1)[0][0]]


def precheck(path: Path, file_type: str) -> Layout:
    """File-level checks and format detection from the first rows; raises FileRejected."""
    check_file(path, file_type)
    return detect_layout(itertools.islice(iter_rows(path, file_type), DETECT_ROWS))


def _shorten(value):
    if isinstance(value, str):
        return value if len(value) <= PREVIEW_TEXT_CHARS else value[:PREVIEW_TEXT_CHARS] + "…"
    if isinstance(value, list):
        return [_shorten(v) for v in value[:20]]
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in itertools.islice(value.items(), PREVIEW_KEYS)}
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _percentile(sorted_values, fraction: float) -> int:
    if not sorted_values:
        return 0
    return int(sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))])


def _stats(lengths: array, turns: list[int], counter: TokenCounter, cutoff_len: int) -> dict:
    ordered = sorted(lengths)
    stats = {
        "rows": len(lengths),
        "token_counter": counter.label,
        "token_counts_exact": counter.exact,
        "cutoff_len": cutoff_len,
        "rows_over_cutoff": sum(1 for n in lengths if n > cutoff_len),
        "tokens": {
            "total": int(sum(lengths)),
            "min": int(ordered[0]) if ordered else 0,
            "mean": round(statistics.fmean(lengths), 1) if lengths else 0,
            "p50": _percentile(ordered, 0.5),
            "p95": _percentile(ordered, 0.95),
            "max": int(ordered[-1]) if ordered else 0,
        },
    }
    if turns:
        stats["turns"] = {"mean": round(statistics.fmean(turns), 2), "max": max(turns)}
    return stats


def inspect_files(
    files: Iterable[tuple[str, Path, str]],
    *,
    counter: TokenCounter | None = None,
    cutoff_len: int = 2048,
    layout: Layout | None = None,
    heartbeat: Callable[[], None] | None = None,
    row_check: Callable[[object, Layout], list[str]] | None = None,
) -> Inspection:
    """Check every row of one or more files (name, path, file type) read as one dataset; `heartbeat` is
    called every HEARTBEAT_ROWS rows (it decides itself how often to act); `row_check` adds problems of a
    row that its shape alone cannot show (the images it names)."""
    counter = counter or EstimatedCounter()
    files = list(files)
    multi = len(files) > 1

    def numbered() -> Iterator[tuple[str, int, object]]:
        for name, path, file_type in files:
            check_file(path, file_type)
            for number, row in iter_rows(path, file_type):
                yield name, number, row

    if layout is None:  # a first, short pass over the head; the full pass below starts again from row 1
        layout = detect_layout((n, r) for _, n, r in itertools.islice(numbered(), DETECT_ROWS))
    result = Inspection(layout)
    lengths, turns = array("I"), []
    conversational = layout.style in ("sharegpt", "openai")
    for name, number, row in numbered():
        result.row_count += 1
        if heartbeat is not None and result.row_count % HEARTBEAT_ROWS == 0:
            heartbeat()
        found = [row.problem] if isinstance(row, RowError) else row_rules.problems(row, layout)
        if row_check is not None and not found:
            found = row_check(row, layout)
        if len(result.preview) < PREVIEW_ROWS and not isinstance(row, RowError):
            result.preview.append({"row": number, **({"file": name} if multi else {}), "data": _shorten(row)})
        if found:
            result.error_count += 1
            if len(result.errors) < MAX_LISTED_ERRORS:
                error = {"row": number, "problem": "; ".join(found[:5])}
                if multi:
                    error["file"] = name
                result.errors.append(error)
            continue
        messages = row_rules.to_messages(row, layout)
        text = render_chatml(messages)
        lengths.append(counter.count(text))
        if conversational:
            turns.append(len(messages))
        if result.rendered is None:
            result.rendered = {"row": number, "label": PREVIEW_LABEL, "text": _shorten(text)}
    if result.row_count == 0:
        raise FileRejected("empty", "The file has no rows.")
    result.stats = _stats(lengths, turns, counter, cutoff_len)
    return result


def inspect(path: Path, file_type: str, **kwargs) -> Inspection:
    return inspect_files([(path.name, path, file_type)], **kwargs)
