"""A real Celery worker that SIGKILLs itself once, in the middle of a chosen step.

    MODELHUB_KILL_AT=tests.reliability.remote:FaultyServing.deploy MODELHUB_KILL_WHEN=after \\
    MODELHUB_KILL_MARK=/tmp/.../killed  python -m tests.reliability.worker -Q control,io --pool solo ...

The function named by MODELHUB_KILL_AT (module:attribute path) is wrapped: the first call in any worker
started with that environment dies with SIGKILL before or after the real call (the mark file makes it
once: a replacement worker with the same environment runs the step normally). The process dies as an
OOM-killed or preempted worker does: no exception handler, finally block, acknowledgement or rollback.
"""

import functools
import importlib
import os
import signal
import sys
from pathlib import Path


def install_kill_point(target: str, when: str, mark: Path) -> None:
    module_name, _, attribute = target.partition(":")
    owner = importlib.import_module(module_name)
    *parents, name = attribute.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    real = getattr(owner, name)

    def die():
        if not mark.exists():
            mark.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)

    @functools.wraps(real)
    def dying(*args, **kwargs):
        if when == "before":
            die()
        result = real(*args, **kwargs)
        if when == "after":
            die()
        return result

    setattr(owner, name, dying)


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelhub.test_settings")
    from modelhub.celery import app

    app.loader.import_default_modules()  # django.setup() and every app's tasks
    if os.environ.get("MODELHUB_KILL_AT"):
        install_kill_point(os.environ["MODELHUB_KILL_AT"], os.environ.get("MODELHUB_KILL_WHEN", "before"),
                           Path(os.environ["MODELHUB_KILL_MARK"]))
    app.worker_main(["worker", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
