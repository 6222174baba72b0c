"""Spot interruptions and resumes from a job's events (pure), and on the job page's timeline."""

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.test import Client

from apps.backends.base import RemoteEvent
from apps.jobs.models import Status
from apps.jobs.timeline import spot_markers, summarise

from .factories import make_job

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def remote(status, minute, message=""):
    """An event as reconcile records a remote history step; created a little after the step started."""
    start = T0 + timedelta(minutes=minute)
    return SimpleNamespace(kind="remote", created_at=start + timedelta(seconds=40),
                           data=asdict(RemoteEvent(status, message, start.isoformat())))


def status(to, minute, message=""):
    return SimpleNamespace(kind="status", created_at=T0 + timedelta(minutes=minute), data={"to": to}, message=message)


def kinds(markers):
    return [(m.kind, m.at, m.downtime_seconds) for m in markers]


def test_an_interruption_and_its_resume_are_marked_at_the_remote_times():
    events = [remote("Starting", 0), remote("Training", 3), status("running", 3),
              remote("Interrupted", 30, "Spot capacity was reclaimed"), remote("Starting", 37), remote("Training", 40)]
    markers = spot_markers(events)
    assert kinds(markers) == [("interrupted", T0 + timedelta(minutes=30), None),
                              ("resumed", T0 + timedelta(minutes=37), 7 * 60)]
    assert markers[0].message == "Spot capacity was reclaimed" and markers[1].downtime_text == "7 min"
    assert summarise(markers).interruptions == 1 and summarise(markers).downtime_seconds == 420
    assert summarise(markers).waiting_since is None


def test_repeated_reports_count_once_and_several_interruptions_add_up():
    events = [remote("Training", 0), remote("Interrupted", 10), remote("Interrupted", 11), remote("Downloading", 15),
              remote("Training", 16), remote("Interrupted", 50), remote("Training", 52)]
    assert [m.kind for m in spot_markers(events)] == ["interrupted", "resumed", "interrupted", "resumed"]
    summary = summarise(spot_markers(events))
    assert (summary.interruptions, summary.downtime_seconds) == (2, (5 + 2) * 60)


def test_waiting_past_the_maximum_wait_is_not_resumed():
    events = [remote("Training", 0), remote("Interrupted", 10), remote("MaxWaitTimeExceeded", 70, "Max wait exceeded")]
    assert kinds(spot_markers(events))[-1] == ("not_resumed", T0 + timedelta(minutes=70), 3600)


def test_a_job_that_ends_while_interrupted_is_not_resumed_and_one_still_waiting_says_since_when():
    waiting = [remote("Training", 0), remote("Interrupted", 10)]
    assert summarise(spot_markers(waiting)).waiting_since == T0 + timedelta(minutes=10)
    stopped = waiting + [status("stopping", 20, "Stopped by alice"), status("stopped", 21, "Stopped.")]
    assert kinds(spot_markers(stopped))[-1] == ("not_resumed", T0 + timedelta(minutes=21), 11 * 60)


def test_runs_without_interruptions_have_no_markers_and_other_events_are_ignored():
    events = [SimpleNamespace(kind="message", created_at=T0, data={"status": "Interrupted"}, message="x"),
              remote("Starting", 0), remote("Training", 2), remote("Completed", 9), status("succeeded", 9)]
    assert spot_markers(events) == []


def test_a_step_without_a_start_time_uses_when_it_was_recorded():
    event = remote("Interrupted", 5)
    event.data["start"] = None
    assert spot_markers([event])[0].at == event.created_at


@pytest.mark.django_db
def test_job_page_timeline_shows_the_interruption_and_resume(user):
    job = make_job(user, status=Status.RUNNING, spec={"use_spot": True})
    for step in (RemoteEvent("Training", "Training image download completed.", T0.isoformat()),
                 RemoteEvent("Interrupted", "Spot capacity was reclaimed", (T0 + timedelta(minutes=30)).isoformat()),
                 RemoteEvent("Starting", "Restarting the job", (T0 + timedelta(minutes=42)).isoformat())):
        job.record_event(step.status, kind="remote", data=asdict(step))
    client = Client()
    client.force_login(user)
    for url in (f"/jobs/{job.pk}/", f"/jobs/{job.pk}/live"):  # the page and its live refresh
        page = client.get(url).content.decode()
        assert "Spot: 1 interruption</strong> · 12 min without instances" in page
        assert 'data-marker="interrupted"' in page and "Spot capacity was reclaimed" in page
        assert 'data-marker="resumed"' in page and "after 12 min" in page


@pytest.mark.django_db
def test_job_page_without_interruptions_has_no_spot_strip(user):
    job = make_job(user, status=Status.RUNNING)
    job.record_event("Training", kind="remote", data=asdict(RemoteEvent("Training", "", T0.isoformat())))
    client = Client()
    client.force_login(user)
    assert "spot-timeline" not in client.get(f"/jobs/{job.pk}/").content.decode()
