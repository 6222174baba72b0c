"""End to end in headless Chromium: a spot interruption reported while the job page is open appears on its
timeline, then its resume, through the page's live refresh."""

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from apps.backends.base import RemoteEvent
from apps.jobs.models import Status
from tests.browser import log_in
from tests.conftest import make_user

from .factories import make_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def report(job, status, message, at):
    """Record a remote history step the way reconcile records what the backend reports."""
    job.record_event(f"{status}: {message}", kind="remote", data=asdict(RemoteEvent(status, message, at.isoformat())))


def markers(browser):
    return [(li.get_attribute("data-marker"), li.text) for li in browser.find_elements(By.CSS_SELECTOR, "#spot-timeline li")]


def test_interruption_then_resume_appear_on_the_open_job_page(browser, live_server):
    alice = make_user("alice")
    job = make_job(alice, name="spot run", status=Status.RUNNING, remote_id="arn:1",
                   spec={"use_spot": True, "instance_type": "ml.g5.2xlarge"})
    t0 = datetime.now(UTC) - timedelta(minutes=20)
    report(job, "Training", "Training image download completed.", t0)

    log_in(browser, live_server.url, "alice", "a-long-test-password")
    browser.get(f"{live_server.url}/jobs/{job.pk}/")
    assert not browser.find_elements(By.ID, "spot-timeline")

    report(job, "Interrupted", "Spot capacity was reclaimed", t0 + timedelta(minutes=5))
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: [kind for kind, _ in markers(b)] == ["interrupted"])
    strip = browser.find_element(By.ID, "spot-timeline").text
    assert "Spot: 1 interruption" in strip and "waiting for spot capacity since" in strip
    assert "Spot capacity was reclaimed" in markers(browser)[0][1]

    report(job, "Starting", "Restarting the job after the interruption", t0 + timedelta(minutes=14))
    wait.until(lambda b: [kind for kind, _ in markers(b)] == ["interrupted", "resumed"])
    assert "after 9 min" in markers(browser)[1][1]
    assert "9 min without instances" in browser.find_element(By.ID, "spot-timeline").text
