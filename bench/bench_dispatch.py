"""Enqueue → task start latency through ModelHub's dispatch path, on Redis and on the embedded SQLite broker.

`.venv/bin/python bench/bench_dispatch.py [--tasks 200] [--interval-ms 20]` starts a real Celery worker
(the project's app and queues, as `manage.py runstack` starts it, with the probe task included) against each
broker in turn, sends `--tasks` probe tasks with `apps.core.dispatch.send_now`, one every `--interval-ms`, and
reports p50/p99 of the time from the send to the task's first line in the worker. Redis uses database 14 of
127.0.0.1:6379 (REDIS_URL to change it); the SQLite broker a fresh file in a temporary DATA_DIR.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import record  # noqa: E402

BROKERS = {"redis": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"), "sqlite": ""}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def wait_for_lines(path: Path, count: int, timeout: float) -> list[float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().split() if path.exists() else []
        if len(lines) >= count:
            return [float(line) for line in lines]
        time.sleep(0.05)
    raise SystemExit(f"only {len(lines)} of {count} tasks started within {timeout:.0f} s")


def measure(broker: str, tasks: int, interval: float) -> dict:
    """Run in a process of its own (settings are read once): worker up, warm-up task, then the measured tasks."""
    import django

    django.setup()
    from apps.core.dispatch import send_now

    data_dir = Path(os.environ["DATA_DIR"])
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "modelhub", "worker", "-Q", "control,io", "--concurrency", "2",
         "--loglevel", "WARNING", "-n", f"bench-{broker}-{os.getpid()}@%h", "--include", "bench.dispatch_probe"],
        cwd=ROOT, env=os.environ.copy(), start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        warm = data_dir / "warm-up.txt"
        send_now("bench.probe", time.time(), str(warm))
        wait_for_lines(warm, 1, timeout=90)
        out = data_dir / "latencies.txt"
        for _ in range(tasks):
            if not send_now("bench.probe", time.time(), str(out)):
                raise SystemExit(f"the {broker} broker refused a task")
            time.sleep(interval)
        latencies = [1000 * seconds for seconds in wait_for_lines(out, tasks, timeout=120)]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return {"p50_ms": statistics.median(latencies), "p99_ms": percentile(latencies, 0.99),
            "max_ms": max(latencies)}


def run_case(broker: str, tasks: int, interval_ms: float) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-dispatch-{broker}-") as data_dir:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "modelhub.settings", "DATA_DIR": data_dir,
               "CELERY_BROKER_URL": BROKERS[broker]}
        done = subprocess.run([sys.executable, __file__, "--case", broker, "--tasks", str(tasks),
                               "--interval-ms", str(interval_ms)], env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{broker}: {done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--interval-ms", type=float, default=20)
    parser.add_argument("--case", choices=BROKERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(measure(args.case, args.tasks, args.interval_ms / 1000)))
        return
    results = {broker: run_case(broker, args.tasks, args.interval_ms) for broker in BROKERS}
    figures = {}
    for broker, label in (("redis", "Redis"), ("sqlite", "embedded SQLite broker")):
        for key, name in (("p50_ms", "p50"), ("p99_ms", "p99"), ("max_ms", "max")):
            figures[f"{label}: enqueue → start {name} (ms)"] = round(results[broker][key], 1)
    figures["SQLite p50 / Redis p50"] = f"{results['sqlite']['p50_ms'] / results['redis']['p50_ms']:.1f}×"
    record("bench_dispatch", "Task dispatch latency", figures,
           note=f"{args.tasks} probe tasks per broker, one every {args.interval_ms:g} ms, sent with "
                "`apps.core.dispatch.send_now` to a real worker (2 processes, queues control and io).")


if __name__ == "__main__":
    main()
