"""In headless Chromium, a user who reads Chinese: the dashboard, the new-job form (with its preview) and a job's
page read in Chinese, and the playground's script writes its own words in Chinese too (issue #14)."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from apps.catalog.models import Dataset
from apps.chat.models import Conversation
from apps.users.models import User
from tests.browser import log_in, wait_until
from tests.conftest import make_user
from tests.core.test_i18n_walk import backend_words, english_runs
from tests.endpoints.factories import make_endpoint
from tests.jobs.factories import make_dataset, make_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mei(fake_training, inline_tasks, settings):
    settings.TRAINING_BACKENDS = {name: path for name, path in settings.TRAINING_BACKENDS.items() if name != "local"}
    settings.COMPUTE_BACKEND = ""  # SageMaker is not set up here: new jobs go to the usable fake target
    user = make_user("mei")
    User.objects.filter(pk=user.pk).update(language="zh-hans")
    return user


def heading(browser) -> str:
    return browser.find_element(By.TAG_NAME, "h1").text


def test_dashboard_and_job_pages_in_chinese(browser, live_server, mei):
    job = make_job(mei, name="run-7", status="running", step=5, total_steps=10)
    make_dataset(mei, "alpaca", name="support-chats", staged=True)
    log_in(browser, live_server.url, "mei", "a-long-test-password")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-hans"
    assert "仪表盘" in browser.find_element(By.TAG_NAME, "body").text

    browser.get(f"{live_server.url}/jobs/{job.pk}/")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "损失与学习率" in body and "第 5 步，共 10 步" in body

    browser.get(f"{live_server.url}/jobs/new")
    assert heading(browser) == "新建训练任务"
    advanced = browser.find_element(By.CSS_SELECTOR, "#advanced summary")
    assert "高级" in advanced.text and "超参数" in advanced.text
    assert "学习率" in browser.find_element(By.CSS_SELECTOR, 'label[for="id_learning_rate"]').text
    preview = browser.find_element(By.ID, "preview-button")
    assert preview.text == "预览"
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", preview)
    preview.click()  # an empty form: the preview lists what to fix, in Chinese
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "preview-errors")))
    assert "启动前请先修正" in browser.find_element(By.ID, "preview-errors").text
    # what the page's scripts and htmx left on the page reads in Chinese as well (names and what the targets
    # say of themselves aside, as in the walk)
    names = {"mei", "run-7", *Dataset.objects.values_list("name", flat=True), *backend_words()}
    runs = english_runs(browser.page_source, names)
    assert runs == [], str(runs)


def test_playground_script_writes_chinese(browser, live_server, mei):
    endpoint = make_endpoint(mei, name="chat-1", status="in_service")
    Conversation.objects.create(owner=mei, endpoint_name=endpoint.name, title="hello")
    log_in(browser, live_server.url, "mei", "a-long-test-password")
    browser.get(f"{live_server.url}/playground/")
    assert heading(browser) == "体验场"
    rename = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".pg-conversation .pg-rename"))
    assert rename.get_attribute("textContent") == "重命名" and rename.get_attribute("aria-label") == "重命名 hello"
    assert browser.find_element(By.CSS_SELECTOR, ".pg-conversation .pg-delete").get_attribute("textContent") == "删除"
    assert browser.find_element(By.ID, "pg-send").text == "发送"
