"""Peak memory of the web process while a large JSONL dataset is uploaded through the real upload path.

Starts ModelHub's ASGI server (uvicorn) on a fresh data directory, uploads a small file and then a
large one (default 200 MB) to POST /api/v1/datasets/ with a Bearer token, and reads the server's
peak resident set size (VmHWM in /proc/<pid>/status) after each. A streamed upload keeps the
growth far below the file size. Linux only.

    .venv/bin/python bench/bench_upload_memory.py [--mb 200]
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.results import record  # noqa: E402


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not found (Linux only)")


def write_jsonl(path: Path, megabytes: int) -> int:
    row = json.dumps({"messages": [
        {"role": "user", "content": "Summarise the following paragraph in one sentence. " + "lorem ipsum " * 30},
        {"role": "assistant", "content": "A short summary of the paragraph. " * 4},
    ]}).encode() + b"\n"
    target = megabytes * 1024 * 1024
    rows = 0
    with open(path, "wb") as fh:
        while True:
            fh.write(row * 1000)
            rows += 1000
            if fh.tell() >= target:
                break
    return rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200, help="size of the large upload in MB")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="modelhub-bench-upload-"))
    env = {**os.environ, "DATA_DIR": str(work / "data"), "DATASET_MAX_UPLOAD_MB": str(args.mb + 100),
           "DJANGO_SETTINGS_MODULE": "modelhub.settings", "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    python = sys.executable
    try:
        subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        token = subprocess.run(
            [python, "-c", "import django; django.setup();"
             "from django.contrib.auth.models import Group; from apps.users.models import User, ApiToken;"
             "u = User.objects.create_user('bench', password='bench-password-123'); u.groups.add(Group.objects.get(name='default'));"
             "print(ApiToken.issue(u, 'bench')[1])"],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]

        small, large = work / "small.jsonl", work / "large.jsonl"
        write_jsonl(small, 0)  # 1,000 rows, ~0.6 MB
        rows = write_jsonl(large, args.mb)
        large_mb = large.stat().st_size / 1024 / 1024

        port = free_port()
        server = subprocess.Popen(
            [python, "-m", "uvicorn", "modelhub.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--lifespan", "on", "--no-access-log"], cwd=ROOT, env=env,
        )
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/api/v1/me", headers=headers, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the web server did not start")
                time.sleep(0.2)

            def upload(path: Path, name: str) -> tuple[dict, float]:
                started = time.monotonic()
                with open(path, "rb") as fh:
                    response = httpx.post(f"{url}/api/v1/datasets/", headers=headers, timeout=900,
                                          data={"name": name}, files={"file": (path.name, fh, "application/jsonl")})
                if response.status_code != 201:
                    raise RuntimeError(f"upload failed: {response.status_code} {response.text[:500]}")
                return response.json(), time.monotonic() - started

            start_peak = peak_rss_mb(server.pid)
            small_body, _ = upload(small, "small")
            small_peak = peak_rss_mb(server.pid)
            large_body, seconds = upload(large, "large")
            large_peak = peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)

        # The validation task (what a Celery worker runs) on the same 200 MB file, in its own process.
        check = subprocess.run(
            [python, "-c", "import resource, time, django; django.setup();"
             "from apps.catalog import services; from apps.catalog.models import Dataset;"
             "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; t = time.monotonic();"
             f"services.validate({large_body['id']}); d = Dataset.objects.get(pk={large_body['id']});"
             "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
             "print(before / 1024, after / 1024, time.monotonic() - t, d.status, d.row_count)"],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        ).stdout.split()
        task_before, task_after, task_seconds = float(check[0]), float(check[1]), float(check[2])

        # Control: what a handler that reads the upload whole would cost, so a regression cannot hide.
        control = subprocess.run(
            [python, "-c", "import resource, sys; before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
             "data = open(sys.argv[1], 'rb').read(); after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
             "print((after - before) / 1024)", str(large)],
            check=True, capture_output=True, text=True,
        ).stdout.strip()

        growth = large_peak - small_peak
        print(f"web process peak RSS at start:           {start_peak:8.1f} MB")
        print(f"after a {small.stat().st_size / 1024 / 1024:.1f} MB upload ({small_body['status']}):      {small_peak:8.1f} MB")
        print(f"after a {large_mb:.0f} MB upload ({rows:,} rows, {large_body['status']}): {large_peak:8.1f} MB")
        print(f"peak growth caused by the large upload:  {growth:8.1f} MB = {growth / large_mb:.3f} × the file size")
        print(f"control, reading the file whole:        +{float(control):7.1f} MB = "
              f"{float(control) / large_mb:.3f} × the file size")
        print(f"upload + pre-check time: {seconds:.1f} s ({large_mb / seconds:.0f} MB/s)")
        print(f"validation task: peak RSS {task_before:.1f} → {task_after:.1f} MB "
              f"(+{task_after - task_before:.1f} MB = {(task_after - task_before) / large_mb:.3f} × the file size), "
              f"{task_seconds:.1f} s, {check[3]} with {int(check[4]):,} rows")
        record("bench_upload_memory", "Dataset upload memory", {
            "web process peak RSS after the small upload (MB)": small_peak,
            f"web process peak RSS after the {large_mb:.0f} MB upload (MB)": large_peak,
            "peak growth caused by the large upload": f"+{growth:.1f} MB = {growth / large_mb:.3f} × the file size",
            "control: reading the same file whole": f"+{float(control):.1f} MB = {float(control) / large_mb:.3f} × the file size",
            "upload + pre-check (s)": seconds,
            "validation task: peak RSS growth, time": f"+{task_after - task_before:.1f} MB, {task_seconds:.1f} s "
                                                       f"for {int(check[4]):,} rows"})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
