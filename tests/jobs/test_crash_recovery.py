"""A worker killed mid-submission, then the reconcile loop: exactly one remote training job.

The submitting worker is a separate process (tests/jobs/crash_worker.py) SIGKILLed either just
before or just after CreateTrainingJob; SageMaker is a moto server shared by that process and
this one, and the database is the real test database both processes use.
"""

import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.jobs import reconcile, services, tasks
from apps.jobs.models import Status, TrainingJob
from apps.jobs.spec import TrainingSpecSerializer
from tests import stack

from .factories import make_dataset

from .conftest import MOTO_BUCKET as BUCKET

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.stack]


def remote_jobs(server):
    return server.remote_jobs()


@pytest.fixture
def queued_job(moto_server, user):
    dataset = make_dataset(user, "alpaca")
    dataset.staged = {"s3": f"s3://{BUCKET}/modelhub/datasets/x/staged/"}
    dataset.save()
    serializer = TrainingSpecSerializer(
        data={"job_type": "sft", "base_model": "Qwen/Qwen3-0.6B", "datasets": [str(dataset.pk)], "template": "qwen3"},
        context={"user": user})
    assert serializer.is_valid(), serializer.errors
    # As services.create_job makes it, with its submit message just sent: the one the dying worker takes.
    return TrainingJob.objects.create(owner=user, name="crash", job_type="sft", spec=serializer.spec.to_dict(),
                                      dispatched_at=timezone.now())


def run_dying_worker(job, when):
    env = {**stack.stack_env()}
    proc = stack.subprocess.run([sys.executable, "-m", "tests.jobs.crash_worker", str(job.pk), when],
                                cwd=stack.ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stdout + proc.stderr  # SIGKILL, not a clean exit


def submits(ran) -> list[int]:
    return [args[0] for name, args in ran if name == "jobs.submit"]


def test_killed_before_create_then_reconcile_creates_exactly_one(queued_job, moto_server, inline_tasks):
    run_dying_worker(queued_job, "before_create")
    job = TrainingJob.objects.get(pk=queued_job.pk)
    assert job.status == Status.SUBMITTING and not job.remote_id
    assert remote_jobs(moto_server) == []

    reconcile.reconcile_once()
    assert submits(inline_tasks) == []  # too early: the message may just be slow

    # Its worker would have been killed by the submit task's hard time limit by now: the message is lost.
    lost = timezone.now() - timedelta(seconds=services.SUBMIT_TIME_LIMIT + 60)
    TrainingJob.objects.filter(pk=job.pk).update(status_changed_at=lost, dispatched_at=lost)
    reconcile.reconcile_once()
    assert submits(inline_tasks) == [job.pk]
    assert remote_jobs(moto_server) == [job.remote_name]
    reconcile.reconcile_once()  # moto reports Completed at once
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    assert remote_jobs(moto_server) == [job.remote_name]
    assert job.submit_attempts == 2


def test_killed_after_create_then_reconcile_adopts_the_one_job(queued_job, moto_server, inline_tasks):
    run_dying_worker(queued_job, "after_create")
    job = TrainingJob.objects.get(pk=queued_job.pk)
    assert job.status == Status.SUBMITTING and not job.remote_id  # the row never heard of it
    assert remote_jobs(moto_server) == [job.remote_name]

    reconcile.reconcile_once()  # the list shows our name: describe and adopt, no re-dispatch needed
    job.refresh_from_db()
    assert submits(inline_tasks) == []
    assert job.status == Status.SUCCEEDED and job.remote_id.endswith(job.remote_name)
    # a late duplicate of the submit message changes nothing
    tasks.submit_job.delay(job.pk)
    assert remote_jobs(moto_server) == [job.remote_name]
    assert job.events.filter(kind="status", data__to="starting").count() == 1
