"""End to end in headless Chromium: create an sft and a grpo job through the form, see inline errors."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from apps.jobs.models import Status, TrainingJob
from tests.browser import log_in
from tests.conftest import make_user

from .factories import make_dataset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(fake_training, inline_tasks):
    """Alice, whose jobs go to the fake target; their tasks run in the server's thread."""
    user = make_user("alice")
    user.ran = inline_tasks
    return user


def fill(browser, field_id, text):
    element = browser.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(text)


def tick_dataset(browser, text):
    """Tick the dataset whose label has `text` in the form's checkbox list."""
    label = browser.find_element(By.XPATH, f'//div[@id="dataset-list"]/label[contains(., "{text}")]')
    box = label.find_element(By.TAG_NAME, "input")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    box.click()


def open_advanced(browser):
    details = browser.find_element(By.ID, "advanced")
    if not details.get_attribute("open"):
        summary = details.find_element(By.TAG_NAME, "summary")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", summary)
        summary.click()


def submit(browser):
    button = browser.find_element(By.CSS_SELECTOR, "#job-form button[type=submit]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()


def test_create_sft_job_through_the_form(browser, live_server, alice):
    dataset = make_dataset(alice, "alpaca", name="support chats", staged=True)
    log_in(browser, live_server.url, "alice", "a-long-test-password")
    wait = WebDriverWait(browser, 20)
    browser.get(f"{live_server.url}/jobs/new")
    assert "Estimated cost" in browser.find_element(By.ID, "cost-estimate").text

    # First an invalid submission: the serializer's errors appear inline, nothing is created.
    fill(browser, "id_base_model", "no-such-model")
    tick_dataset(browser, "support chats (Alpaca instructions)")
    Select(browser.find_element(By.ID, "id_finetuning_method")).select_by_value("qlora")
    submit(browser)
    errors = wait.until(EC.presence_of_all_elements_located((By.CSS_SELECTOR, ".field-error")))
    text = " ".join(e.text for e in errors)
    assert "Choose a model from the catalog" in text and "This field may not be blank." in text
    assert not TrainingJob.objects.exists()

    # Fix it and launch.
    fill(browser, "id_name", "support-bot sft")
    fill(browser, "id_base_model", "Qwen/Qwen3-0.6B")
    Select(browser.find_element(By.ID, "id_finetuning_method")).select_by_value("lora")
    open_advanced(browser)
    assert not browser.find_element(By.ID, "id_lora_rank").find_element(By.XPATH, "..").get_attribute("hidden")
    fill(browser, "id_lora_rank", "16")
    fill(browser, "id_template", "qwen3")
    Select(browser.find_element(By.ID, "id_instance_type")).select_by_value("ml.g5.12xlarge")
    fill(browser, "id_max_run_hours", "10")
    wait.until(EC.text_to_be_present_in_element((By.ID, "cost-estimate"), "$70.90"))  # 7.09 $/h × 10 h
    submit(browser)
    wait.until(EC.presence_of_element_located((By.ID, "job-status")))
    job = TrainingJob.objects.get()
    assert browser.current_url.endswith(f"/jobs/{job.pk}/")
    assert job.name == "support-bot sft" and job.job_type == "sft" and job.status == Status.STARTING
    assert job.spec["lora_rank"] == 16 and job.spec["instance_type"] == "ml.g5.12xlarge"
    assert job.spec["datasets"] == [dataset.pk]
    assert alice.ran == [("jobs.submit", (job.pk,))]
    assert "Starting" in browser.find_element(By.ID, "job-status").get_attribute("textContent")


def test_create_grpo_job_through_the_form(browser, live_server, alice):
    make_dataset(alice, "prompt_answer", name="math problems", staged=True)
    log_in(browser, live_server.url, "alice", "a-long-test-password")
    wait = WebDriverWait(browser, 20)
    browser.get(f"{live_server.url}/jobs/new")
    fill(browser, "id_name", "math reasoner")
    Select(browser.find_element(By.ID, "id_job_type")).select_by_value("grpo")  # reloads with GRPO defaults
    wait.until(EC.presence_of_element_located((By.ID, "id_rollout_n")))
    open_advanced(browser)
    assert browser.find_element(By.ID, "id_name").get_attribute("value") == "math reasoner"
    assert browser.find_element(By.ID, "id_rollout_n").get_attribute("value") == "5"
    reward = Select(browser.find_element(By.ID, "id_reward_function"))
    assert reward.first_selected_option.get_attribute("value") == "math"
    code = browser.find_element(By.ID, "id_reward_code")
    assert not code.is_displayed()  # only for a custom reward
    reward.select_by_value("custom")
    assert code.is_displayed()
    reward.select_by_value("math")
    fill(browser, "id_base_model", "Qwen/Qwen2.5-7B-Instruct")
    tick_dataset(browser, "math problems (Prompt with reference answer)")
    submit(browser)
    wait.until(EC.presence_of_element_located((By.ID, "job-status")))
    job = TrainingJob.objects.get()
    assert job.job_type == "grpo" and job.name == "math reasoner"
    assert job.spec["reward_function"] == "math" and job.spec["rollout_n"] == 5
    assert alice.ran == [("jobs.submit", (job.pk,))]


def test_detail_page_follows_the_job_live(browser, live_server, alice):
    from .factories import make_job

    job = make_job(alice, name="live one")  # on the fake target, which has no run for it: no logs, no metrics
    log_in(browser, live_server.url, "alice", "a-long-test-password")
    browser.get(f"{live_server.url}/jobs/{job.pk}/")
    wait = WebDriverWait(browser, 20)
    assert "Queued" in browser.find_element(By.ID, "job-status").text
    wait.until(EC.text_to_be_present_in_element((By.ID, "job-log"), "Waiting for the job to start"))

    job.transition(Status.SUBMITTING, "test")
    job.transition(Status.STARTING, "test")
    job.transition(Status.RUNNING, "Training", step=30, total_steps=120)
    wait.until(EC.text_to_be_present_in_element((By.ID, "job-status"), "Running"))
    assert "25.0%" in browser.find_element(By.ID, "job-live").text
    job.transition(Status.SUCCEEDED, "Training completed.")
    wait.until(EC.text_to_be_present_in_element((By.ID, "job-status"), "Succeeded"))
    live = browser.find_element(By.ID, "job-live")
    assert live.get_attribute("data-terminal") == "1" and live.get_attribute("hx-trigger") is None
    assert "Training completed." in live.text
