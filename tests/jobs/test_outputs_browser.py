"""End to end in headless Chromium: a finished job's files listed on its page, with download links that
work, and the full log download."""

from datetime import UTC, datetime

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from apps.backends.base import LogLine
from apps.jobs.models import Status, TrainingJob
from tests.browser import log_in
from tests.conftest import make_user

from .factories import make_job
from .test_outputs import Backend

pytestmark = [
    pytest.mark.browser, pytest.mark.django_db(transaction=True),
    # The test server is WSGI, which buffers the views' async streams; the real server (ASGI) streams them.
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators"),
]

FETCH = ("const done = arguments[arguments.length - 1];"
         "fetch(arguments[0].href).then(r => r.text().then(t => done([r.status, t]))).catch(e => done([0, String(e)]));")


def test_outputs_listed_with_working_download_links(browser, live_server, monkeypatch, tmp_path):
    backend = Backend([[LogLine(datetime(2026, 12, 7, 10, tzinfo=UTC), "training started", "algo-1-1")]])
    monkeypatch.setattr("apps.backends.registry.training_backend", lambda name: backend)
    root = tmp_path / "jobs" / "mhjob-export"
    for name, text in {"merged/config.json": '{"architectures": ["Qwen3ForCausalLM"]}',
                       "exports/gptq-4bit/quantize_config.json": '{"bits": 4}'}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    alice = make_user("alice")
    job = make_job(alice, name="export run", status=Status.SUCCEEDED, remote_id="arn:1")
    TrainingJob.objects.filter(pk=job.pk).update(output_uri=root.as_uri() + "/")

    log_in(browser, live_server.url, "alice", "a-long-test-password")
    browser.get(f"{live_server.url}/jobs/{job.pk}/")
    wait = WebDriverWait(browser, 20)
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, '#job-outputs [data-folder="exports"]')))
    assert "2 files" in browser.find_element(By.ID, "job-outputs").text
    browser.find_element(By.CSS_SELECTOR, '[data-folder="exports"] summary').click()
    link = browser.find_element(By.LINK_TEXT, "exports/gptq-4bit/quantize_config.json")
    browser.set_script_timeout(20)
    assert browser.execute_async_script(FETCH, link) == [200, '{"bits": 4}']
    full_log = browser.find_element(By.ID, "full-log")
    assert browser.execute_async_script(FETCH, full_log) == [200, "2026-12-07T10:00:00+00:00 algo-1-1 training started\n"]
