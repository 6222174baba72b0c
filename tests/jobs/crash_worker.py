"""A worker process that runs the real submit task and is SIGKILLed at a chosen point.

    python -m tests.jobs.crash_worker <job id> before_create|after_create

Run by test_crash_recovery.py against the test database and a moto server: the process dies the
way an OOM-killed or preempted worker does, with no exception handler, finally block or rollback.
"""

import os
import signal
import sys


def main(job_id: int, when: str) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelhub.settings")
    django.setup()

    import apps.backends.sagemaker.training as training
    from apps.jobs import tasks

    real_client = training.client

    class DyingSageMaker:
        def __init__(self, client):
            self._client = client

        def create_training_job(self, **request):
            if when == "before_create":
                os.kill(os.getpid(), signal.SIGKILL)
            result = self._client.create_training_job(**request)
            if when == "after_create":
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        def __getattr__(self, name):
            return getattr(self._client, name)

    training.client = lambda service: DyingSageMaker(real_client(service)) if service == "sagemaker" else real_client(service)
    tasks.submit_job.apply(args=(job_id,), throw=True)
    sys.exit(0)  # not reached when the kill happens


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
