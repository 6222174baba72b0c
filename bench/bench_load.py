"""Load on the API and the /v1 gateway together: locust, headless, for a fixed time, on loopback.

`.venv/bin/python bench/bench_load.py [--users 20] [--seconds 30]` migrates a fresh SQLite database, starts
the fake OpenAI-compatible upstream of `bench/bench_gateway.py` (8 tokens per reply, no pacing) and the real
ASGI server (uvicorn, as `make run` serves it), then runs `bench/locustfile.py` against it and reports
requests/s, p50 and p99 latency and failures over all requests. LOCUST names the locust command (default:
the one beside this Python).
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_gateway import prepare_database, wait_for_port  # noqa: E402
from bench.results import record  # noqa: E402


def aggregated(stats_csv: Path) -> dict:
    with stats_csv.open() as rows:
        row = next(r for r in csv.DictReader(rows) if r["Name"] == "Aggregated")
    return {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "rps": float(row["Requests/s"]), "p50": float(row["50%"]), "p99": float(row["99%"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    locust = os.environ.get("LOCUST", str(Path(sys.executable).parent / "locust"))
    from tests.stack import free_port

    data_dir = Path(tempfile.mkdtemp(prefix="mh-bench-load-"))
    port_file, port = data_dir / "fake.port", free_port()
    env = {**os.environ, "DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "modelhub.settings",
           "LOG_LEVEL": "WARNING", "CHAT_RATE_LIMIT_REQUESTS": "0", "DEBUG": "false"}
    env.pop("DATABASE_URL", None)
    fake = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bench_gateway.py"), "--serve-fake", str(port_file),
                             "--tokens", "8", "--pace-ms", "0"])
    web = None
    try:
        while not port_file.exists():
            time.sleep(0.05)
        token = prepare_database(env, int(port_file.read_text()))
        web = subprocess.Popen([sys.executable, "-m", "uvicorn", "modelhub.asgi:application", "--host", "127.0.0.1",
                                "--port", str(port), "--lifespan", "on", "--no-access-log", "--log-level", "warning"],
                               cwd=ROOT, env=env)
        wait_for_port(port)
        prefix = data_dir / "locust"
        subprocess.run([locust, "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--only-summary",
                        "-u", str(args.users), "-r", str(args.users), "-t", f"{args.seconds}s",
                        "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix)],
                       env={**os.environ, "MH_TOKEN": token, "MH_MODEL": "bench"}, check=False)
        stats = aggregated(Path(f"{prefix}_stats.csv"))
    finally:
        for process in (web, fake):
            if process:
                process.terminate()
                process.wait(timeout=30)
    print(f"{stats['rps']:.1f} requests/s, p50 {stats['p50']:.0f} ms, p99 {stats['p99']:.0f} ms, "
          f"{stats['failures']} failures of {stats['requests']}")
    record("bench_load", "API and gateway under load (locust)", {
        "requests/s": stats["rps"], "p50 (ms)": stats["p50"], "p99 (ms)": stats["p99"],
        "failed requests": f"{stats['failures']} of {stats['requests']}"},
        note=f"{args.users} locust users (API lists and /v1 models + streamed chat against a fake upstream), "
             f"{args.seconds} s, server and load generator on the same loopback host.")


if __name__ == "__main__":
    main()
