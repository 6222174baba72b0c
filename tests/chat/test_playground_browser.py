"""The playground in headless Chromium against the running app and fake upstreams: a reply grows
while it streams, is kept in the conversation for the next turn, and side by side shows two."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from apps.chat.models import Conversation
from tests.browser import log_in
from tests.conftest import make_user

from .conftest import make_endpoint
from .fakes import TOKENS

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

SLOW_TOKENS = ["Here", " is", " **bold**", " and", " `code`", " <b>raw</b>"] + [f" word{i}" for i in range(14)]


def replies(browser, lane: int):
    return browser.find_elements(By.CSS_SELECTOR, f"#pg-log-{lane} .pg-msg-assistant")


def send(browser, text: str):
    box = browser.find_element(By.ID, "pg-input")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def wait_idle(browser, count: int, lane: int = 0, timeout: float = 20):
    WebDriverWait(browser, timeout).until(
        lambda d: len(replies(d, lane)) == count
        and not d.find_elements(By.CSS_SELECTOR, f"#pg-log-{lane} .is-streaming")
        and "TTFT" in replies(d, lane)[-1].find_element(By.CSS_SELECTOR, ".pg-msg-stats").text
    )
    return replies(browser, lane)[-1]


def test_streaming_multi_turn_and_side_by_side(browser, web, local_fake, sagemaker_fake):
    alice = make_user("alice")
    make_endpoint(alice, "base-model", "local", upstream=local_fake)
    make_endpoint(alice, "tuned-model", "sagemaker", upstream=sagemaker_fake)
    local_fake.delay, local_fake.tokens = 0.12, list(SLOW_TOKENS)
    try:
        log_in(browser, web, "alice", "a-long-test-password")
        browser.get(f"{web}/playground/")
        Select(browser.find_element(By.ID, "pg-endpoint")).select_by_value("base-model")
        assert not browser.find_element(By.ID, "pg-stop").is_displayed()
        assert not browser.find_element(By.CSS_SELECTOR, '.pg-lane[data-lane="1"]').is_displayed()

        # Shift+Enter is a newline, not a send.
        box = browser.find_element(By.ID, "pg-input")
        box.send_keys("first", Keys.SHIFT, Keys.ENTER, Keys.NULL, "question")
        assert box.get_attribute("value") == "first\nquestion"
        assert not browser.find_elements(By.CSS_SELECTOR, ".pg-msg-user")
        box.send_keys(Keys.ENTER)

        # The reply grows while it streams.
        lengths = []
        def growing(d):
            streaming = d.find_elements(By.CSS_SELECTOR, "#pg-log-0 .pg-msg-assistant.is-streaming .pg-msg-body")
            if streaming:
                lengths.append(len(streaming[0].text))
            return len({n for n in lengths if n > 0}) >= 3
        WebDriverWait(browser, 15, poll_frequency=0.05).until(growing)
        final = wait_idle(browser, 1)
        assert not browser.find_element(By.ID, "pg-stop").is_displayed()
        body = final.find_element(By.CSS_SELECTOR, ".pg-msg-body")
        assert max(lengths) < len(body.text)
        assert body.find_element(By.TAG_NAME, "strong").text == "bold"
        assert body.find_element(By.TAG_NAME, "code").text == "code"
        assert not body.find_elements(By.TAG_NAME, "b") and "<b>raw</b>" in body.text  # HTML is shown, not run
        stats = final.find_element(By.CSS_SELECTOR, ".pg-msg-stats").text
        assert f"{len(SLOW_TOKENS)} tokens" in stats and "tok/s" in stats

        # The next turn sends the streamed reply back to the model.
        local_fake.delay = 0
        send(browser, "second question")
        wait_idle(browser, 2)
        assistant_turns = [m for m in local_fake.requests[-1].body["messages"] if m["role"] == "assistant"]
        assert assistant_turns == [{"role": "assistant", "content": "".join(SLOW_TOKENS)}]
        assert local_fake.requests[-1].body["messages"][0] == {"role": "user", "content": "first\nquestion"}

        # Reloading continues the saved conversation.
        conversation = Conversation.objects.get(owner=alice)
        browser.get(f"{web}/playground/?conversation={conversation.pk}")
        WebDriverWait(browser, 10).until(lambda d: len(replies(d, 0)) == 2)
        assert browser.find_element(By.CSS_SELECTOR, ".pg-conversation.is-active .pg-open").text == "first"

        # Side by side: one prompt, two endpoints, both stream.
        browser.find_element(By.ID, "pg-compare").click()
        Select(browser.find_element(By.ID, "pg-compare-endpoint")).select_by_value("tuned-model")
        send(browser, "compare please")
        left, right = wait_idle(browser, 3, lane=0), wait_idle(browser, 1, lane=1)
        assert right.find_element(By.CSS_SELECTOR, ".pg-msg-body").text == "".join(TOKENS)
        assert "word13" in left.find_element(By.CSS_SELECTOR, ".pg-msg-body").text
        assert browser.find_element(By.ID, "pg-lane-name-1").text == "tuned-model"
        assert sagemaker_fake.requests[-1].body["messages"][-1] == {"role": "user", "content": "compare please"}
    finally:
        local_fake.delay, local_fake.tokens = 0.0, list(TOKENS)


def test_stop_button_keeps_the_partial_reply(browser, web, local_fake):
    alice = make_user("alice")
    make_endpoint(alice, "slow", "local", upstream=local_fake)
    local_fake.delay, local_fake.tokens = 0.1, [f" t{i}" for i in range(200)]
    try:
        log_in(browser, web, "alice", "a-long-test-password")
        browser.get(f"{web}/playground/")
        send(browser, "long answer please")
        WebDriverWait(browser, 10).until(
            lambda d: "t3" in d.find_element(By.CSS_SELECTOR, "#pg-log-0 .pg-msg-assistant .pg-msg-body").text)
        browser.find_element(By.ID, "pg-stop").click()
        WebDriverWait(browser, 5).until(
            lambda d: "stopped" in d.find_element(By.CSS_SELECTOR, "#pg-log-0 .pg-msg-assistant .pg-msg-stats").text)
        WebDriverWait(browser, 5).until(lambda d: local_fake.cancelled == 1)
        conversation = Conversation.objects.get(owner=alice)
        reply = WebDriverWait(browser, 5).until(lambda d: conversation.messages.filter(role="assistant").first())
        assert reply.finish_reason == "cancelled" and reply.text.startswith(" t0 t1 t2 t3")
    finally:
        local_fake.delay, local_fake.tokens = 0.0, list(TOKENS)


def test_rename_and_delete_a_conversation(browser, web, local_fake):
    alice = make_user("alice")
    make_endpoint(alice, "ep", "local", upstream=local_fake)
    log_in(browser, web, "alice", "a-long-test-password")
    browser.get(f"{web}/playground/")
    send(browser, "hello there")
    wait_idle(browser, 1)
    WebDriverWait(browser, 5).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".pg-conversation.is-active .pg-open").text == "hello there")

    browser.find_element(By.CSS_SELECTOR, ".pg-conversation.is-active .pg-rename").click()
    field = browser.find_element(By.CSS_SELECTOR, ".pg-rename-input")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("Renamed chat", Keys.ENTER)
    WebDriverWait(browser, 5).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".pg-conversation .pg-open").text == "Renamed chat")
    assert Conversation.objects.get(owner=alice).title == "Renamed chat"

    browser.find_element(By.CSS_SELECTOR, ".pg-conversation.is-active .pg-delete").click()
    browser.switch_to.alert.accept()
    WebDriverWait(browser, 5).until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".pg-conversation"))
    assert not Conversation.objects.exists()
    assert not browser.find_elements(By.CSS_SELECTOR, ".pg-msg")  # back to a new, empty conversation
