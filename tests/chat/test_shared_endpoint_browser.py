"""Sharing in headless Chromium (issue #14): a default user chats in the playground with an endpoint shared with
her group, and the endpoint that is not shared with her is a 404, in the playground's list and on its page."""

import pytest
from django.contrib.auth.models import Group
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from apps.users.shares import share
from tests.browser import log_in, wait_until
from tests.conftest import make_user

from .conftest import last_reply, make_endpoint

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def test_a_member_chats_with_a_shared_endpoint_and_not_with_another(browser, web, local_fake):
    alice, bea = make_user("alice"), make_user("bea")
    team = Group.objects.create(name="support-team")
    alice.groups.add(team)
    bea.groups.add(team)
    shared = make_endpoint(alice, "team-bot", "local", upstream=local_fake)
    private = make_endpoint(alice, "alice-only", "local", upstream=local_fake)
    share(shared, team, by=alice)

    log_in(browser, web, "bea", "a-long-test-password")
    browser.get(f"{web}/playground/")
    endpoints = [o.get_attribute("value") for o in Select(browser.find_element(By.ID, "pg-endpoint")).options]
    assert "team-bot" in endpoints and "alice-only" not in endpoints
    Select(browser.find_element(By.ID, "pg-endpoint")).select_by_value("team-bot")
    browser.find_element(By.ID, "pg-input").send_keys("Hello team", Keys.ENTER)
    reply = WebDriverWait(browser, 20).until(last_reply)
    wait_until(browser, lambda d: "tokens" in last_reply(d).find_element(By.CSS_SELECTOR, ".pg-msg-stats").text)
    assert reply.find_element(By.CSS_SELECTOR, ".pg-msg-body").text == "".join(local_fake.tokens).strip()

    browser.get(f"{web}/endpoints/{private.pk}/")
    assert "alice-only" not in browser.page_source
    assert browser.find_element(By.TAG_NAME, "h1").text.strip() == "Page not found"
    browser.get(f"{web}/endpoints/{shared.pk}/")
    assert "team-bot" in browser.find_element(By.TAG_NAME, "h1").text
