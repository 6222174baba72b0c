"""End to end in headless Chromium: log in, see the navigation, create a token, log out."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from apps.users.models import ApiToken, hash_token
from tests.browser import log_in
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_wrong_password_is_refused_with_a_message(browser, live_server):
    make_user("alice")
    browser.get(f"{live_server.url}/accounts/login/")
    browser.find_element(By.ID, "id_username").send_keys("alice")
    browser.find_element(By.ID, "id_password").send_keys("wrong-password")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    alert = WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[role=alert]")))
    assert "correct username and password" in alert.text


def test_log_in_create_a_token_and_log_out(browser, live_server):
    make_user("root", group="admin")
    log_in(browser, live_server.url, "root", "a-long-test-password")

    nav = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "nav.nav a")]
    assert nav[0] == "Dashboard" and "Admin" in nav
    assert "System" in browser.find_element(By.TAG_NAME, "main").text

    browser.get(f"{live_server.url}/profile/")
    browser.find_element(By.ID, "id_name").send_keys("browser token")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    shown = WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "new-token"))).text
    assert ApiToken.objects.get(name="browser token").digest == hash_token(shown)

    browser.find_element(By.CSS_SELECTOR, "details.user-menu summary").click()
    browser.find_element(By.XPATH, "//button[normalize-space()='Log out']").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "id_username")))
    browser.get(f"{live_server.url}/profile/")
    assert "/accounts/login/" in browser.current_url


def test_a_user_added_to_the_admin_group_opens_django_admin(browser, live_server):
    from apps.users.models import ADMIN_GROUP, User, group

    carol = make_user("carol")  # a default user: Django admin sends her to its sign-in page
    log_in(browser, live_server.url, "carol", "a-long-test-password")
    browser.get(f"{live_server.url}/admin/")
    assert "/admin/login/" in browser.current_url

    carol.groups.add(group(ADMIN_GROUP))  # one admin notion: the group is all it takes
    assert User.objects.get(pk=carol.pk).is_staff
    browser.get(f"{live_server.url}/admin/")
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "site-name")))
    assert browser.current_url.rstrip("/").endswith("/admin")
    assert browser.find_elements(By.CSS_SELECTOR, "#content-main .module")  # the apps she may administer
