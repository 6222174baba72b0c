"""End to end in headless Chromium: upload with progress, read the report, browse models, delete with confirmation."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from apps.catalog.models import Dataset
from tests.browser import log_in
from tests.conftest import make_user

from .conftest import CORPUS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def upload(browser, base_url, name, path):
    browser.get(f"{base_url}/catalog/datasets/upload/")
    browser.find_element(By.ID, "id_name").send_keys(name)
    browser.find_element(By.ID, "id_file").send_keys(str(path))
    browser.find_element(By.ID, "upload-submit").click()


def test_upload_report_preview_and_delete(browser, live_server):
    make_user("alice")
    log_in(browser, live_server.url, "alice", "a-long-test-password")
    wait = WebDriverWait(browser, 20)

    upload(browser, live_server.url, "Broken chat", CORPUS / "broken" / "openai_no_assistant_turn.jsonl")
    report = wait.until(EC.presence_of_element_located((By.XPATH, "//h2[text()='Validation report']/../..")))
    assert "4" in report.find_element(By.CSS_SELECTOR, "tbody td.num").text
    assert "no assistant turn" in report.text
    assert "invalid" in browser.find_element(By.CSS_SELECTOR, "h1 .badge").text.lower()

    upload(browser, live_server.url, "Good chat", CORPUS / "good" / "openai.jsonl")
    wait.until(EC.presence_of_element_located((By.ID, "rendered-title")))
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "Ready." in main and "<|im_start|>assistant" in main and "dataset_info.json entry" in main
    dataset = Dataset.objects.get(name="Good chat")
    assert browser.current_url.endswith(f"/catalog/datasets/{dataset.pk}/")

    browser.find_element(By.LINK_TEXT, "Delete").click()
    browser.find_element(By.XPATH, "//button[text()='Delete dataset']").click()
    wait.until(EC.url_contains("/catalog/datasets/"))
    assert "Deleted “Good chat”" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    assert not Dataset.objects.filter(name="Good chat").exists()


def test_bad_upload_shows_the_error_inline_and_keeps_the_form(browser, live_server):
    make_user("alice")
    log_in(browser, live_server.url, "alice", "a-long-test-password")
    upload(browser, live_server.url, "Latin", CORPUS / "rejected" / "latin1.csv")
    error = WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".field-error")))
    assert "not UTF-8 text" in error.text
    assert browser.current_url.endswith("/catalog/datasets/upload/")
    assert not Dataset.objects.filter(name="Latin").exists()


def test_model_search_updates_live(browser, live_server):
    make_user("alice")
    log_in(browser, live_server.url, "alice", "a-long-test-password")
    browser.get(f"{live_server.url}/catalog/")
    browser.find_element(By.ID, "id_q").send_keys("smollm2")
    WebDriverWait(browser, 10).until(lambda d: "Qwen3 8B" not in d.find_element(By.ID, "model-rows").text)
    rows = browser.find_element(By.ID, "model-rows").text
    assert "SmolLM2 135M Instruct" in rows
    browser.find_element(By.LINK_TEXT, "SmolLM2 135M Instruct").click()
    assert "LoRA training" in WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.TAG_NAME, "main"))).text
