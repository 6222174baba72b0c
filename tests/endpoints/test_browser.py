"""The deploy form and the detail page in headless Chromium: source and engine sections, the live
memory-fit preview, submit, then the status updating by itself (htmx) as the fake moves on."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from apps.endpoints import tasks
from apps.endpoints.models import Endpoint
from apps.jobs.models import Status as JobStatus
from tests.browser import log_in
from tests.conftest import make_user
from tests.jobs.factories import make_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-test-password"


def wait_for(browser, predicate, timeout=15):
    return WebDriverWait(browser, timeout).until(lambda driver: predicate())


def visible(browser, name) -> bool:
    return browser.find_element(By.NAME, name).is_displayed()


def test_deploy_form_to_endpoint_in_service(browser, live_server, fake_serving, inline_tasks, small_model, huge_model,
                                            settings, tmp_path):
    settings.S3_BUCKET = "modelhub-test"
    user = make_user("carol", password=PASSWORD)
    job = make_job(user, name="sft-run", status=JobStatus.SUCCEEDED)
    log_in(browser, live_server.url, "carol", PASSWORD)

    browser.get(f"{live_server.url}/endpoints/new?job={job.pk}")
    assert Select(browser.find_element(By.NAME, "source")).first_selected_option.get_attribute("value") == "job"
    assert visible(browser, "job") and not visible(browser, "base_model") and not visible(browser, "model_uri")

    Select(browser.find_element(By.NAME, "source")).select_by_value("catalog")
    assert visible(browser, "base_model") and not visible(browser, "job")
    Select(browser.find_element(By.NAME, "engine")).select_by_value("sglang")
    assert not browser.find_element(By.ID, "section-images-video").is_displayed()  # no multimodal limits on SGLang
    Select(browser.find_element(By.NAME, "engine")).select_by_value("vllm")
    assert browser.find_element(By.ID, "section-images-video").is_displayed()

    Select(browser.find_element(By.NAME, "instance_type")).select_by_value("ml.g5.2xlarge")
    Select(browser.find_element(By.NAME, "base_model")).select_by_value(huge_model.key)
    wait_for(browser, lambda: "Does not fit" in browser.find_element(By.ID, "fit-result").text)
    Select(browser.find_element(By.NAME, "base_model")).select_by_value(small_model.key)
    wait_for(browser, lambda: "Fits" in browser.find_element(By.ID, "fit-result").text
             and "Does not fit" not in browser.find_element(By.ID, "fit-result").text)

    browser.save_screenshot(str(tmp_path / "deploy-form.png"))
    browser.find_element(By.NAME, "name").send_keys("browser-bot")
    browser.find_element(By.CSS_SELECTOR, "#deploy-form button[type=submit]").click()
    wait_for(browser, lambda: "/endpoints/" in browser.current_url and browser.current_url.rstrip("/").split("/")[-1].isdigit())
    endpoint = Endpoint.objects.get(name="browser-bot")
    assert endpoint.status == "creating"
    badge = lambda: browser.find_element(By.CSS_SELECTOR, "#endpoint-live .card-header .badge").text.lower()  # noqa: E731
    assert badge() == "creating"
    browser.save_screenshot(str(tmp_path / "detail-creating.png"))

    tasks.reconcile_endpoints.run(), tasks.reconcile_endpoints.run()  # the fake: creating, then in service
    wait_for(browser, lambda: badge() == "in service", timeout=20)
    assert "every 3s" not in browser.find_element(By.ID, "endpoint-live").get_attribute("outerHTML")
    browser.save_screenshot(str(tmp_path / "detail-in-service.png"))
    browser.get(f"{live_server.url}/endpoints/")
    assert "browser-bot" in browser.find_element(By.ID, "endpoint-rows").text
    browser.save_screenshot(str(tmp_path / "list.png"))
