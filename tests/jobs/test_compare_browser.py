"""End to end in headless Chromium: two runs picked on Compare runs and drawn on one chart."""

import json

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from apps.jobs.models import Status
from tests.browser import log_in
from tests.conftest import make_user

from .factories import make_job, trainer_log_uri

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _trainer_log(fake_sagemaker, job, losses):
    bucket, key = trainer_log_uri(job)[5:].split("/", 1)
    lines = [json.dumps({"current_steps": (i + 1) * 10, "total_steps": 30, "loss": loss}) for i, loss in enumerate(losses)]
    fake_sagemaker.s3.put_object(Bucket=bucket, Key=key, Body="\n".join(lines).encode())


def test_two_runs_on_one_chart(browser, live_server, fake_sagemaker):
    alice = make_user("alice")
    fast = make_job(alice, name="rank 8", status=Status.SUCCEEDED, remote_id="arn:1", spec={"lora_rank": 8})
    slow = make_job(alice, name="rank 64", status=Status.SUCCEEDED, remote_id="arn:2", spec={"lora_rank": 64})
    make_job(alice, name="unrelated", status=Status.SUCCEEDED, remote_id="arn:3")
    _trainer_log(fake_sagemaker, fast, [2.0, 1.4, 1.0])
    _trainer_log(fake_sagemaker, slow, [2.0, 1.8, 1.6])

    log_in(browser, live_server.url, "alice", "a-long-test-password")
    wait = WebDriverWait(browser, 20)
    browser.get(f"{live_server.url}/jobs/")
    browser.find_element(By.LINK_TEXT, "Compare runs").click()
    for job in (fast, slow):
        browser.find_element(By.CSS_SELECTOR, f'input[name="ids"][value="{job.pk}"]').click()
    browser.find_element(By.CSS_SELECTOR, "form[action='/jobs/compare'] button[type=submit]").click()

    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#compare-chart .uplot")))
    assert browser.find_elements(By.CSS_SELECTOR, "#compare-chart canvas")
    legend = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#compare-chart .u-legend .u-series .u-label")]
    assert legend == ["step", "rank 64 · loss", "rank 8 · loss"]  # the picker's order: newest first
    # Hovering the middle of the plot shows both runs' loss at step 20 in the legend.
    over = browser.find_element(By.CSS_SELECTOR, "#compare-chart .u-over")
    ActionChains(browser).move_to_element(over).perform()
    values = lambda: [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#compare-chart .u-legend .u-series .u-value")]
    wait.until(lambda _: values()[0] == "20")
    assert values() == ["20", "1.8", "1.4"]
    data = json.loads(browser.find_element(By.ID, "compare-data").get_attribute("textContent"))
    assert data["steps"] == [10, 20, 30] and [s["values"] for s in data["series"]] == [[2.0, 1.8, 1.6], [2.0, 1.4, 1.0]]
    rows = browser.find_element(By.ID, "compare-settings").text.lower().splitlines()  # header cells are upper-cased
    assert rows == ["setting rank 64 rank 8", "lora rank 64 8"]


def test_job_page_draws_its_loss_curve_with_the_shared_chart_code(browser, live_server, fake_sagemaker):
    alice = make_user("alice")
    job = make_job(alice, name="single", status=Status.SUCCEEDED, remote_id="arn:1")
    _trainer_log(fake_sagemaker, job, [2.0, 1.5])
    log_in(browser, live_server.url, "alice", "a-long-test-password")
    browser.get(f"{live_server.url}/jobs/{job.pk}/")
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#loss-chart .uplot")))
    legend = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#loss-chart .u-legend .u-series .u-label")]
    assert legend == ["step", "loss", "learning rate"]
    assert not browser.find_element(By.ID, "loss-chart-empty").is_displayed()
