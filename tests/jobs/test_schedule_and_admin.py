import pytest
from django.test import Client

from .factories import make_job


def test_reconcile_is_scheduled_with_an_expiry_below_its_interval(settings):
    import celeryconfig

    entry = celeryconfig.beat_schedule["jobs.reconcile"]
    assert entry["task"] == "jobs.reconcile"
    interval = entry["schedule"].total_seconds()
    assert interval == settings.TRAINING_RECONCILE_SECONDS
    assert 0 < entry["options"]["expires"] < interval


def queue_of(task_name: str) -> str:
    from modelhub.celery import app

    return app.amqp.router.route({}, task_name)["queue"].name


def test_tasks_have_names_queues_and_time_limits(settings):
    from apps.jobs import tasks

    for task, queue in ((tasks.submit_job, "io"), (tasks.stop_job, "control"), (tasks.reconcile_jobs, "control")):
        assert task.name.startswith("jobs.") and queue_of(task.name) == queue
        assert task.soft_time_limit and task.time_limit > task.soft_time_limit
    assert tasks.reconcile_jobs.time_limit < settings.TRAINING_RECONCILE_SECONDS


@pytest.mark.django_db
def test_admin_shows_deleted_jobs_with_history(admin_user, user):
    from django.utils import timezone

    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    job = make_job(user, name="gone-but-kept")
    job.record_event("something happened")
    type(job).objects.filter(pk=job.pk).update(deleted_at=timezone.now())
    client = Client()
    client.force_login(admin_user)
    assert "gone-but-kept" in client.get("/admin/jobs/trainingjob/").content.decode()
    detail = client.get(f"/admin/jobs/trainingjob/{job.pk}/change/").content.decode()
    assert "something happened" in detail
