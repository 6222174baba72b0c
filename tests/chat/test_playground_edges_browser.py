"""The playground in headless Chromium (served by Django's live server): the composer never covers the
last messages, images cannot be attached for a text-only model, side by side starts on two different
endpoints, and an HTML error page from upstream is shown as a short sentence."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from apps.catalog.models import BaseModel
from tests.browser import log_in
from tests.conftest import make_user

from .conftest import make_endpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ERROR_PAGE = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
              "</center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>")


@pytest.fixture
def playground(browser, live_server):
    alice = make_user("alice")
    text = BaseModel.objects.create(key="qwen-text", display_name="Qwen text", repo_id="org/qwen-text",
                                    template="qwen", parameters_b=1, modality="text")
    vision = BaseModel.objects.create(key="qwen-vl", display_name="Qwen VL", repo_id="org/qwen-vl",
                                      template="qwen", parameters_b=1, modality="vision")
    make_endpoint(alice, "a-texty", "local", base_model=text)
    make_endpoint(alice, "b-seeing", "local", base_model=vision)
    log_in(browser, live_server.url, "alice", "a-long-test-password")
    browser.get(f"{live_server.url}/playground/")
    browser.find_element(By.ID, "pg-endpoint")
    return browser


def test_composer_leaves_the_last_message_visible(playground):
    last = playground.execute_script("""
        const log = document.getElementById("pg-log-0");
        for (let i = 0; i < 40; i++) {
          const node = document.createElement("article");
          node.className = "pg-msg pg-msg-assistant"; node.textContent = "message " + i;
          log.appendChild(node);
        }
        log.scrollTop = log.scrollHeight;
        window.scrollTo(0, 0);
        return log.lastElementChild;""")
    box = playground.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.width, r.height];", last)
    composer_top = playground.execute_script("return document.getElementById('pg-composer').getBoundingClientRect().top;")
    assert box[1] + box[3] <= composer_top
    hit = playground.execute_script("return document.elementFromPoint(arguments[0], arguments[1]);",
                                    box[0] + box[2] / 2, box[1] + box[3] - 2)
    assert hit == last  # on screen, and nothing drawn over it


def test_images_only_for_models_that_read_them(playground):
    Select(playground.find_element(By.ID, "pg-endpoint")).select_by_value("a-texty")
    assert not playground.find_element(By.ID, "pg-images").is_enabled()
    note = playground.find_element(By.ID, "pg-images-note")
    assert note.is_displayed() and "a-texty reads text only" in note.text
    Select(playground.find_element(By.ID, "pg-endpoint")).select_by_value("b-seeing")
    assert playground.find_element(By.ID, "pg-images").is_enabled() and not note.is_displayed()


def test_side_by_side_compares_two_different_endpoints(playground):
    Select(playground.find_element(By.ID, "pg-endpoint")).select_by_value("b-seeing")
    playground.find_element(By.ID, "pg-compare").click()
    assert Select(playground.find_element(By.ID, "pg-compare-endpoint")).first_selected_option.get_attribute("value") == "a-texty"
    assert playground.find_element(By.ID, "pg-lane-name-1").text == "a-texty"


def test_an_html_error_page_becomes_a_short_message(playground):
    readable = playground.execute_script("return ModelHubChatErrors.readable(arguments[0]);", ERROR_PAGE)
    assert readable == "the model server answered with an error page (502 Bad Gateway)."
    prefixed = playground.execute_script("return ModelHubChatErrors.readable(arguments[0]);",
                                         "Upstream error 502: " + ERROR_PAGE)
    assert prefixed.startswith("Upstream error 502: ") and "<" not in prefixed
    plain = playground.execute_script("return ModelHubChatErrors.readable('Model overloaded <retry later>');")
    assert plain == "Model overloaded <retry later>"  # not HTML: kept as it is (the bubble sets textContent)
    untitled = playground.execute_script("return ModelHubChatErrors.readable(arguments[0]);",
                                         "<html><body><p>Service &amp; proxy down</p></body></html>")
    assert untitled == "the model server answered with an error page (Service & proxy down)."
