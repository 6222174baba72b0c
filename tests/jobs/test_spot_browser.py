"""End to end in headless Chromium: ticking "Use spot" on the job form shows the spot market beside the cost."""

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser import log_in
from tests.conftest import make_user

from .test_browser import open_advanced
from .test_spot_prices import SpotBackend

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_spot_market_follows_the_form(browser, live_server, monkeypatch):
    ec2 = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    backend = SpotBackend(ec2)
    monkeypatch.setattr("apps.backends.registry.training_backend", lambda name: backend)
    make_user("alice")
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_spot_price_history",
            {"SpotPriceHistory": [{"AvailabilityZone": "us-east-1b", "SpotPrice": "2.125000", "InstanceType": "g5.12xlarge",
                                   "ProductDescription": "Linux/UNIX", "Timestamp": datetime.now(UTC) - timedelta(days=8)}]},
            {"InstanceTypes": ["g5.12xlarge"], "ProductDescriptions": ["Linux/UNIX"], "StartTime": ANY, "EndTime": ANY,
             "MaxResults": 1000},
        )
        log_in(browser, live_server.url, "alice", "a-long-test-password")
        browser.get(f"{live_server.url}/jobs/new")
        wait = WebDriverWait(browser, 20)
        wait.until(EC.text_to_be_present_in_element((By.ID, "spot-prices"), "tick “Use spot”"))
        Select(browser.find_element(By.ID, "id_instance_type")).select_by_value("ml.g5.12xlarge")
        open_advanced(browser)  # "Use spot" is an advanced choice
        spot = browser.find_element(By.ID, "id_use_spot")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", spot)
        spot.click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "spot-prices"), "Cheapest now: $2.125/h in us-east-1b"))
        assert "EC2 spot, g5.12xlarge" in browser.find_element(By.ID, "spot-zones").text
        stub.assert_no_pending_responses()
