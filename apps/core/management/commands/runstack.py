"""Run the whole embedded stack in the foreground: the ASGI web server, a Celery worker and beat.

Ctrl-C (or SIGTERM) stops all three; if one of them exits, the others are stopped too.
"""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve ModelHub with a worker and beat (what `make run` starts)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--concurrency", type=int, default=2)

    def commands(self, host: str, port: int, concurrency: int) -> dict[str, list[str]]:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "modelhub"]
        return {
            "web": [python, "-m", "uvicorn", "modelhub.asgi:application", "--host", host, "--port", str(port),
                    "--lifespan", "on", "--no-access-log"],
            "worker": [*celery, "worker", "-Q", "control,io", "--concurrency", str(concurrency),
                       "--loglevel", "INFO", "-n", "worker@%h"],
            "beat": [*celery, "beat", "--loglevel", "INFO"],
        }

    def handle(self, host, port, concurrency, **options):
        processes = {
            name: subprocess.Popen(argv, start_new_session=True)
            for name, argv in self.commands(host, port, concurrency).items()
        }
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(self.style.SUCCESS(f"ModelHub is running at http://{host}:{port}/  (Ctrl-C stops it)"))
        try:
            while not stopping:
                exited = [n for n, p in processes.items() if p.poll() is not None]
                if exited:
                    self.stderr.write(f"{', '.join(exited)} exited; stopping the rest.")
                    break
                time.sleep(0.3)
        finally:
            self.shutdown(processes)

    def shutdown(self, processes):
        # SIGTERM to each main process only: Celery and uvicorn then shut their own children down warmly.
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for name, process in processes.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in time; killing it.")
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.stdout.write("Stopped.")
