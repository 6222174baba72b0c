"""The task `bench/bench_dispatch.py` sends: it notes how long after its sending it started, and does nothing else."""

import time

from celery import shared_task


@shared_task(name="bench.probe", ignore_result=True)
def probe(sent_at: float, out_path: str) -> None:
    started = time.time()
    with open(out_path, "a") as out:  # one short append per task: lines from the worker's processes do not mix
        out.write(f"{started - sent_at:.6f}\n")
