"""bench/report.py: the results of one run rendered into docs/benchmarks.md, the hand-written text kept."""

from bench.report import BEGIN, END, render

DOC = "# Benchmarks\n\nHand-written explanation.\n\n## Gateway\n\nWhy it is fast.\n"
RESULTS = [
    {"name": "bench_dispatch", "title": "Task dispatch latency", "note": "200 tasks per broker.",
     "figures": {"Redis p50": 4.25, "SQLite p99": 182.0, "tasks": 200}},
    {"name": "bench_load", "title": "Load", "figures": {"requests/s": 1234.5678, "failures": 0}},
]


def test_results_become_one_table_per_bench_after_the_hand_written_text():
    out = render(DOC, RESULTS, "x86_64 Linux, 2 CPUs", "2026-12-08 03:00 UTC")
    assert out.startswith(DOC.rstrip("\n"))
    section = out[out.index(BEGIN):out.index(END)]
    assert "2026-12-08 03:00 UTC, x86_64 Linux, 2 CPUs" in section
    assert "### Task dispatch latency (`bench/bench_dispatch.py`)" in section
    assert "| Redis p50 | 4.25 |" in section and "| SQLite p99 | 182.0 |" in section and "| tasks | 200 |" in section
    assert "| requests/s | 1,234.6 |" in section and "| failures | 0 |" in section
    assert "200 tasks per broker." in section
    assert section.index("bench_dispatch") < section.index("bench_load")


def test_a_second_run_replaces_the_section_and_keeps_text_around_it():
    first = render(DOC + "\n" + BEGIN + "\nold\n" + END + "\n\nTrailing notes.\n", RESULTS, "m", "d1")
    second = render(first, [{**RESULTS[1], "figures": {"requests/s": 99.5}}], "m", "d2")
    assert second.count(BEGIN) == 1 and second.count(END) == 1
    assert "\nold\n" not in second and "| requests/s | 99.5 |" in second and "Task dispatch" not in second
    assert second.startswith(DOC) and second.endswith(END + "\n\nTrailing notes.\n")
