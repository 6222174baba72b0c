"""The playground in headless Chromium: an endpoint's LoRA adapter is chosen in the model select and
answers; the upstream receives the adapter's name, and the conversation keeps the adapter's model id."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from apps.chat.models import Conversation
from tests.browser import log_in, selected_value, wait_until
from tests.conftest import make_user

from .conftest import last_reply, make_endpoint

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

ADAPTERS = [{"name": "sql", "source": "s3://b/adapters/sql/"}, {"name": "support", "source": "s3://b/adapters/support/"}]


def test_an_adapter_is_chosen_and_answers(browser, web, local_fake):
    alice = make_user("alice")
    make_endpoint(alice, "plain", "local", upstream=local_fake)
    make_endpoint(alice, "bot", "local", upstream=local_fake, spec={"lora_adapters": ADAPTERS})
    log_in(browser, web, "alice", "a-long-test-password")
    browser.get(f"{web}/playground/")

    Select(browser.find_element(By.ID, "pg-endpoint")).select_by_value("plain")
    assert not browser.find_element(By.ID, "pg-model").is_displayed()  # no adapters: nothing to choose
    Select(browser.find_element(By.ID, "pg-endpoint")).select_by_value("bot")
    models = Select(browser.find_element(By.ID, "pg-model"))
    assert [o.text for o in models.options] == ["Base model", "Adapter: sql", "Adapter: support"]
    models.select_by_value("support")
    assert browser.find_element(By.ID, "pg-lane-name-0").text == "bot:support"

    box = browser.find_element(By.ID, "pg-input")
    box.send_keys("Help me", Keys.ENTER)
    reply = WebDriverWait(browser, 20).until(last_reply)
    wait_until(browser, lambda d: "tokens" in last_reply(d).find_element(By.CSS_SELECTOR, ".pg-msg-stats").text)
    assert reply.find_element(By.CSS_SELECTOR, ".pg-msg-body").text == "".join(local_fake.tokens).strip()
    assert reply.find_element(By.CSS_SELECTOR, ".pg-msg-role").get_attribute("textContent") == "bot:support"
    assert local_fake.requests[-1].body["model"] == "support"  # vLLM's name for the adapter
    conversation = Conversation.objects.get(owner=alice)
    assert conversation.endpoint_name == "bot:support"
    assert list(conversation.messages.filter(role="assistant").values_list("endpoint_name", flat=True)) == ["bot:support"]

    # Reopened, the conversation shows the adapter chosen; the endpoint page's link preselects one too.
    browser.get(f"{web}/playground/?conversation={conversation.pk}")
    wait_until(browser, lambda d: selected_value(d, "pg-model") == "support")
    browser.get(f"{web}/playground/?model=bot%3Asql")
    wait_until(browser, lambda d: selected_value(d, "pg-model") == "sql")
    assert selected_value(browser, "pg-endpoint") == "bot"
