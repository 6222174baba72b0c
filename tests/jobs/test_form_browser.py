"""In headless Chromium: a target without settings is shown disabled with what to set; a job with every
default on a catalog model's cheapest instance previews and launches."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from apps.catalog.models import BaseModel
from apps.jobs.models import TrainingJob
from tests.browser import log_in
from tests.conftest import make_user

from .factories import make_dataset
from .test_browser import fill, submit, tick_dataset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(fake_training, inline_tasks, settings):
    settings.TRAINING_BACKENDS = {name: path for name, path in settings.TRAINING_BACKENDS.items() if name != "local"}
    settings.COMPUTE_BACKEND = ""  # automatic: SageMaker is not set up here, so new jobs go to the usable fake
    return make_user("alice")


def test_unset_target_is_disabled_with_what_to_set(browser, live_server, alice):
    log_in(browser, live_server.url, "alice", "a-long-test-password")
    browser.get(f"{live_server.url}/jobs/new")
    sagemaker = browser.find_element(By.CSS_SELECTOR, 'input[name="target"][value="sagemaker"]')
    fake = browser.find_element(By.CSS_SELECTOR, 'input[name="target"][value="fake"]')
    assert not sagemaker.is_enabled() and fake.is_enabled() and fake.is_selected()
    missing = browser.find_element(By.ID, "target-sagemaker-missing").text
    assert "SAGEMAKER_ROLE_ARN" in missing and "TRAINING_IMAGE_LLAMAFACTORY" in missing


def test_every_default_on_the_cheapest_instance_launches(browser, live_server, alice):
    make_dataset(alice, "alpaca", name="support chats", staged=True)
    model = BaseModel.objects.get(key="qwen2-5-0-5b-instruct")
    cheapest = model.training_instance_types("lora")[0].name
    assert cheapest == "ml.g4dn.xlarge"  # a T4: no bf16, so the default precision must follow the GPU
    log_in(browser, live_server.url, "alice", "a-long-test-password")
    wait = WebDriverWait(browser, 20)
    browser.get(f"{live_server.url}/jobs/new")
    fill(browser, "id_name", "all defaults")
    fill(browser, "id_base_model", "qwen2.5-0.5b-instruct")
    tick_dataset(browser, "support chats")
    Select(browser.find_element(By.ID, "id_instance_type")).select_by_value(cheapest)
    preview = browser.find_element(By.ID, "preview-button")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", preview)
    preview.click()
    wait.until(EC.presence_of_element_located((By.ID, "preview-summary")))
    assert cheapest in browser.find_element(By.ID, "preview-summary").text
    yaml = browser.find_element(By.CSS_SELECTOR, '#job-preview pre[data-file="train.yaml"]').get_attribute("textContent")
    assert "model_name_or_path: Qwen/Qwen2.5-0.5B-Instruct" in yaml and "fp16: true" in yaml
    submit(browser)
    wait.until(EC.presence_of_element_located((By.ID, "job-status")))
    job = TrainingJob.objects.get()
    assert browser.current_url.endswith(f"/jobs/{job.pk}/")
    assert job.target == "fake" and job.spec["instance_type"] == cheapest
    assert job.spec["precision"] == "fp16"
