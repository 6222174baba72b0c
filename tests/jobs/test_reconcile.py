from datetime import timedelta

import pytest
from django.utils import timezone

from apps.backends.storage import split_s3
from apps.core import leases
from apps.core.models import WorkerHeartbeat
from apps.jobs import reconcile, services
from apps.jobs.models import Status, TrainingJob

from .factories import make_job, trainer_log_uri

pytestmark = pytest.mark.django_db


def started_job(user, fake, **fields):
    """A job whose remote job exists (as if submitted), in `starting`."""
    job = make_job(user, status=Status.STARTING, **fields)
    fake.add_remote(job.remote_name, "InProgress", "Starting")
    fake.jobs[job.remote_name]["SecondaryStatusTransitions"] = [
        {"Status": "Starting", "StartTime": timezone.now(), "StatusMessage": "Preparing the instances for training"}
    ]
    TrainingJob.objects.filter(pk=job.pk).update(remote_status="InProgress", remote_detail="Starting",
                                                 remote_transitions_seen=1)
    job.refresh_from_db()
    return job


def cycle():
    return reconcile.reconcile_once()


def test_walk_to_completed(user, fake_sagemaker):
    fake = fake_sagemaker
    job = started_job(user, fake)

    fake.advance(job.remote_name, "InProgress", "Downloading", "Downloading the training image")
    cycle()
    job.refresh_from_db()
    assert job.status == Status.STARTING
    assert job.remote_detail == "Downloading"

    fake.advance(job.remote_name, "InProgress", "Training", "Training image download completed. Training in progress.")
    cycle()
    job.refresh_from_db()
    assert job.status == Status.RUNNING
    assert job.started_at is not None

    fake.advance(job.remote_name, "InProgress", "Uploading", "Uploading generated training model")
    fake.advance(job.remote_name, "Completed", "Completed", "Training job completed", billable=1234)
    cycle()
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    assert job.ended_at == fake.jobs[job.remote_name]["TrainingEndTime"]
    assert job.billable_seconds == 1234
    remote_events = list(job.events.filter(kind="remote").values_list("message", flat=True))
    assert remote_events == [
        "Downloading: Downloading the training image",
        "Training: Training image download completed. Training in progress.",
        "Uploading: Uploading generated training model",
        "Completed: Training job completed",
    ]
    status_moves = [e.data["to"] for e in job.events.filter(kind="status")]
    assert status_moves == ["running", "succeeded"]


def test_walk_to_failed_keeps_the_failure_reason(user, fake_sagemaker):
    fake = fake_sagemaker
    job = started_job(user, fake)
    fake.advance(job.remote_name, "InProgress", "Training", "Training in progress.")
    cycle()
    reason = "AlgorithmError: ExecuteUserScriptError: CUDA out of memory. Tried to allocate 2.00 GiB"
    fake.advance(job.remote_name, "Failed", "Failed", "Training job failed", failure_reason=reason)
    cycle()
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.status_reason == reason
    assert job.ended_at is not None
    failed_event = job.events.filter(kind="status").last()
    assert failed_event.level == "error" and reason in failed_event.message


def test_walk_from_pending_straight_to_stopped(user, fake_sagemaker):
    fake = fake_sagemaker
    job = started_job(user, fake)
    fake.advance(job.remote_name, "Pending", "Pending", "Waiting for capacity")
    cycle()
    job.refresh_from_db()
    assert job.status == Status.STARTING
    fake.advance(job.remote_name, "Stopped", "MaxWaitTimeExceeded", "Spot capacity not available within MaxWaitTime")
    cycle()
    job.refresh_from_db()
    assert job.status == Status.STOPPED
    assert "MaxWaitTime" in job.status_reason
    assert job.ended_at is not None


def test_user_stop_walks_through_stopping(user, fake_sagemaker, inline_tasks):
    fake = fake_sagemaker
    job = started_job(user, fake)
    fake.advance(job.remote_name, "InProgress", "Training", "Training in progress.")
    cycle()
    job.refresh_from_db()
    assert services.stop_job(job)
    job.refresh_from_db()
    assert job.status == Status.STOPPING and inline_tasks == [("jobs.stop", (job.pk,))]
    assert fake.calls["stop_training_job"] == 1
    assert fake.jobs[job.remote_name]["TrainingJobStatus"] == "Stopping"
    cycle()
    job.refresh_from_db()
    assert job.status == Status.STOPPING
    fake.advance(job.remote_name, "Stopped", "Stopped", "Training job stopped")
    cycle()
    job.refresh_from_db()
    assert job.status == Status.STOPPED and job.ended_at is not None


def test_unknown_remote_status_is_an_event_and_never_moves_backwards(user, fake_sagemaker):
    fake = fake_sagemaker
    job = started_job(user, fake)
    fake.advance(job.remote_name, "InProgress", "Training", "Training")
    cycle()
    fake.advance(job.remote_name, "Rebooting", "Mystery", "Something new")
    cycle()
    job.refresh_from_db()
    assert job.status == Status.RUNNING
    warning = job.events.filter(level="warning").get()
    assert "Rebooting" in warning.message and warning.kind == "remote"
    # InProgress/Starting again (e.g. after a spot interruption): still running, never back to starting
    fake.advance(job.remote_name, "InProgress", "Starting", "Restarting after interruption")
    cycle()
    job.refresh_from_db()
    assert job.status == Status.RUNNING


def test_cycle_over_1000_changed_jobs_uses_at_most_10_list_calls_and_one_describe_each(user, fake_sagemaker):
    fake = fake_sagemaker
    jobs = [make_job(user, name=f"fleet-{i}", status=Status.STARTING) for i in range(1000)]
    for job in jobs:
        fake.add_remote(job.remote_name, "InProgress", "Training")
    fake.add_remote("someone-elses-job", "InProgress", "Training")  # not ours: NameContains filters it out

    report = cycle()
    assert fake.calls["list_training_jobs"] <= 10
    assert fake.calls["describe_training_job"] == 1000
    assert report.described == 1000 and report.moved == 1000
    assert TrainingJob.objects.filter(status=Status.RUNNING).count() == 1000


def test_cycle_over_1000_quiet_jobs_lists_only_what_changed_in_the_window(user, fake_sagemaker):
    fake = fake_sagemaker
    hour_ago = timezone.now() - timedelta(hours=1)
    jobs = [make_job(user, name=f"fleet-{i}", status=Status.RUNNING) for i in range(1000)]
    for job in jobs:
        fake.add_remote(job.remote_name, "InProgress", "Training", modified=hour_ago)
    TrainingJob.objects.update(remote_status="InProgress", remote_detail="Training",
                               remote_checked_at=hour_ago + timedelta(minutes=30))
    for job in jobs[:7]:
        fake.advance(job.remote_name, "Completed", "Completed", "done")

    report = cycle()
    assert fake.calls["list_training_jobs"] == 1  # only the 7 modified since the last check come back
    assert fake.calls["describe_training_job"] == 7
    assert report.described == 7 and report.moved == 7
    assert TrainingJob.objects.filter(status=Status.SUCCEEDED).count() == 7

    # Listed again in the overlap window but unchanged: no describe.
    fake.calls.clear()
    cycle()
    assert fake.calls["list_training_jobs"] == 1
    assert fake.calls["describe_training_job"] == 0

    fake.advance(jobs[500].remote_name, "Failed", "Failed", "boom", failure_reason="AlgorithmError: boom")
    fake.calls.clear()
    cycle()
    assert fake.calls["list_training_jobs"] == 1
    assert fake.calls["describe_training_job"] == 1
    assert TrainingJob.objects.get(pk=jobs[500].pk).status_reason == "AlgorithmError: boom"


def test_throttled_list_leaves_jobs_for_the_next_cycle(user, fake_sagemaker):
    from .fake_sagemaker import client_error

    fake = fake_sagemaker
    job = started_job(user, fake)
    fake.advance(job.remote_name, "InProgress", "Training", "Training")
    fake.fail_next.append(client_error("ThrottlingException", "Rate exceeded"))
    report = cycle()
    assert report.errors and "busy" in report.errors[0]
    job.refresh_from_db()
    assert job.status == Status.STARTING and job.remote_checked_at is None
    cycle()
    job.refresh_from_db()
    assert job.status == Status.RUNNING


def test_stop_of_a_job_that_never_reached_the_backend_closes_it_after_grace(user, fake_sagemaker):
    job = make_job(user, status=Status.STOPPING)
    cycle()
    job.refresh_from_db()
    assert job.status == Status.STOPPING  # a submit may still be creating it
    TrainingJob.objects.filter(pk=job.pk).update(status_changed_at=timezone.now() - timedelta(minutes=6))
    cycle()
    job.refresh_from_db()
    assert job.status == Status.STOPPED


def test_stale_queued_and_submitting_jobs_are_redispatched_once(user, fake_sagemaker, django_capture_on_commit_callbacks):
    old = timezone.now() - timedelta(minutes=10)
    queued = make_job(user)
    orphaned = make_job(user, status=Status.SUBMITTING)  # its worker died: its heartbeat stopped
    still_submitting = make_job(user, status=Status.SUBMITTING)  # its live worker is still staging data
    refused = make_job(user)  # the broker refused its message: dispatched_at was cleared
    fresh = make_job(user)
    TrainingJob.objects.filter(pk__in=[queued.pk, orphaned.pk, still_submitting.pk]).update(
        status_changed_at=old, dispatched_at=old)
    TrainingJob.objects.filter(pk=refused.pk).update(dispatched_at=None)
    TrainingJob.objects.filter(pk=fresh.pk).update(dispatched_at=timezone.now())
    WorkerHeartbeat.objects.create(hostname="alive@h", pid=1, started_at=old, last_seen=timezone.now())
    WorkerHeartbeat.objects.create(hostname="dead@h", pid=2, started_at=old, last_seen=old)
    leases.hold("jobs.submit", still_submitting.pk, "alive@h")
    leases.hold("jobs.submit", orphaned.pk, "dead@h")
    with django_capture_on_commit_callbacks(execute=False) as sent:  # the messages, not delivered here
        report = cycle()
    assert report.redispatched == 3 and len(sent) == 3
    resent = TrainingJob.objects.filter(dispatched_at__gt=timezone.now() - timedelta(minutes=1))
    assert sorted(resent.values_list("pk", flat=True)) == sorted([queued.pk, orphaned.pk, refused.pk, fresh.pk])
    with django_capture_on_commit_callbacks(execute=False) as sent:
        report = cycle()
    assert report.redispatched == 0 and sent == []  # just re-sent: give it time


def test_reconcile_refreshes_progress_of_unwatched_running_jobs_a_few_at_a_time(user, fake_sagemaker):
    import json

    jobs = [make_job(user, name=f"r{i}", status=Status.RUNNING,
                     spec={"job_type": "sft", "finetuning_method": "lora", "base_model": "Qwen/Qwen3-0.6B",
                           "base_model_source": "hf", "base_model_uri": "Qwen/Qwen3-0.6B"}) for i in range(30)]
    for job in jobs:
        bucket, key = split_s3(trainer_log_uri(job))
        line = {"current_steps": 30, "total_steps": 120, "loss": 1.0, "remaining_time": "0:10:00"}
        fake_sagemaker.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(line).encode())
    report = cycle()
    assert report.progress_refreshed == reconcile.PROGRESS_BATCH
    assert TrainingJob.objects.filter(step=30, total_steps=120, eta_seconds=600).count() == reconcile.PROGRESS_BATCH
    report = cycle()
    assert report.progress_refreshed == 30 - reconcile.PROGRESS_BATCH
    assert cycle().progress_refreshed == 0  # all fresh now
