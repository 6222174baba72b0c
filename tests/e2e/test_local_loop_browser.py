"""Must-show of the local target in headless Chromium: log in, create an sft LoRA job on the tiny model
with the demo dataset, watch it reach 100 % with a loss curve, deploy the result on this machine, chat
in the playground and see the reply stream, then delete the endpoint and find its process gone."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from apps.backends.local import process
from apps.catalog.models import Dataset
from apps.endpoints.models import Endpoint
from apps.jobs.models import TrainingJob
from tests import stack
from tests.browser import log_in

from .conftest import PASSWORD, TINY_SFT

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

FILL = """
const [values, dataset] = arguments, missing = [];
for (const [name, value] of Object.entries(values)) {
  const field = document.getElementById('id_' + name);
  if (!field) { missing.push(name); continue; }
  field.value = value;
  field.dispatchEvent(new Event('change', {bubbles: true}));
}
const boxes = document.querySelectorAll('input[name="datasets"]');
if (!boxes.length) missing.push('datasets');
for (const box of boxes) box.checked = box.value === String(dataset);
return missing;
"""


def test_fine_tune_deploy_chat_and_delete_in_the_browser(local_stack, browser, settings):
    url, user, _ = local_stack
    dataset = Dataset.objects.get(name="Demo: instructions")
    log_in(browser, url, user.username, PASSWORD)

    browser.get(f"{url}/jobs/new?job_type=sft&base_model=tiny-chat&name=tiny-ui")
    fields = {k: v for k, v in TINY_SFT.items() if k not in ("job_type", "base_model")}
    assert browser.execute_script(FILL, fields, dataset.pk) == []
    browser.find_element(By.CSS_SELECTOR, "#job-form button[type=submit]").click()
    WebDriverWait(browser, 20).until(lambda d: re.search(r"/jobs/(\d+)/?$", d.current_url))
    job = TrainingJob.objects.get(pk=int(re.search(r"/jobs/(\d+)", browser.current_url).group(1)))
    assert job.target == "local"

    def at_100(d):  # the page refreshes itself while the job runs
        bars = d.find_elements(By.CSS_SELECTOR, ".progress[aria-valuenow]")
        return bars and float(bars[0].get_attribute("aria-valuenow")) == 100
    WebDriverWait(browser, 240, poll_frequency=1).until(at_100)  # the last step; the LoRA merge follows
    job = stack.wait_until(lambda: TrainingJob.objects.filter(pk=job.pk, status__in=("succeeded", "failed")).first(),
                           timeout=120, interval=1, message="the job to end")
    assert job.status == "succeeded", job.status_reason
    browser.refresh()
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#loss-chart canvas"))

    browser.find_element(By.LINK_TEXT, "Deploy").click()
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.ID, "deploy-form"))
    assert Select(browser.find_element(By.ID, "id_target")).first_selected_option.get_attribute("value") == "local"
    browser.find_element(By.ID, "id_name").send_keys("tiny-ui")
    browser.find_element(By.CSS_SELECTOR, "#deploy-form button[type=submit]").click()
    WebDriverWait(browser, 20).until(lambda d: re.search(r"/endpoints/(\d+)/?$", d.current_url))
    endpoint = Endpoint.objects.get(name="tiny-ui")
    assert endpoint.target == "local" and endpoint.job_id == job.pk
    WebDriverWait(browser, 180, poll_frequency=1).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".badge-in_service") or d.find_elements(By.CSS_SELECTOR, ".badge-failed"))
    endpoint.refresh_from_db()
    assert endpoint.status == "in_service", endpoint.status_reason
    state = process.read_json(settings.STORAGE_DIR / "endpoints" / endpoint.remote_name / "state.json")

    browser.get(f"{url}/playground/")
    Select(browser.find_element(By.ID, "pg-endpoint")).select_by_value("tiny-ui")
    box = browser.find_element(By.ID, "pg-input")
    box.send_keys("Who are you?")
    box.send_keys(Keys.ENTER)
    reply = WebDriverWait(browser, 60, poll_frequency=0.2).until(lambda d: [
        r for r in d.find_elements(By.CSS_SELECTOR, "#pg-log-0 .pg-msg-assistant")
        if "TTFT" in r.find_element(By.CSS_SELECTOR, ".pg-msg-stats").text])[-1]
    assert "tokens" in reply.find_element(By.CSS_SELECTOR, ".pg-msg-stats").text  # streamed, then counted
    assert not reply.find_elements(By.CSS_SELECTOR, ".alert, .pg-msg-error")

    browser.get(f"{url}/endpoints/{endpoint.pk}/delete")
    browser.find_element(By.ID, "confirm-name").send_keys("tiny-ui")
    browser.find_element(By.XPATH, "//button[normalize-space()='Delete endpoint']").click()
    stack.wait_until(lambda: Endpoint.objects.get(pk=endpoint.pk).status == "deleted", timeout=60, interval=1,
                     message="the endpoint to be deleted")
    assert not process.is_alive(state["pid"], state["start_ticks"])
