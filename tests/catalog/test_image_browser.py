"""Headless Chromium uploads an image dataset (a zip of a JSONL file and its images) and sees the thumbnails."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from apps.catalog.models import Dataset
from tests.browser import log_in
from tests.conftest import make_user

from .corpus.images.builders import good_members, make_zip
from .test_browser import upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_image_dataset_uploaded_and_previewed_with_thumbnails(browser, live_server, tmp_path):
    make_user("alice")
    log_in(browser, live_server.url, "alice", "a-long-test-password")
    archive = tmp_path / "pictures.zip"
    archive.write_bytes(make_zip(good_members()))

    upload(browser, live_server.url, "Pictures", archive)
    wait = WebDriverWait(browser, 30)
    wait.until(EC.presence_of_element_located((By.ID, "preview-title")))
    dataset = Dataset.objects.get(name="Pictures")
    assert dataset.status == "ready", dataset.status_reason
    assert browser.current_url.endswith(f"/catalog/datasets/{dataset.pk}/")

    thumbs = browser.find_elements(By.CSS_SELECTOR, "img.thumb")
    assert [t.get_attribute("alt") for t in thumbs] == ["images/red.png", "images/blue.jpg", "images/green.webp"]
    # Every thumbnail was fetched through the authenticated view and decoded by the browser.
    wait.until(lambda d: all(d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", t)
                             for t in thumbs))
    sizes = [browser.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", t)
             for t in thumbs]
    assert sizes == [[64, 48], [80, 60], [32, 32]]  # small images are kept at their size; larger ones shrink
    assert '"images": [' in browser.find_element(By.TAG_NAME, "main").text
