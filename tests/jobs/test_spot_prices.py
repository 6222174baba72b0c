"""The spot market panel: read through the registry only when the backend declares SPOT_PRICES (EC2 stubbed)."""

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber
from django.test import Client

from apps.backends.base import Capability
from apps.backends.sagemaker.pricing import SpotPrices
from apps.jobs.models import Status

from .factories import make_job

pytestmark = pytest.mark.django_db


class SpotBackend(SpotPrices):
    name = "sagemaker"
    capabilities = frozenset({Capability.LOGS}) | SpotPrices.capabilities

    def __init__(self, ec2):
        self._ec2 = ec2


class PlainBackend:
    name = "sagemaker"
    capabilities = frozenset({Capability.LOGS})


@pytest.fixture
def ec2(monkeypatch):
    client = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    backend = SpotBackend(client)
    monkeypatch.setattr("apps.backends.registry.training_backend", lambda name: backend)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def market(stub, *zones):
    now = datetime.now(UTC)
    stub.add_response(
        "describe_spot_price_history",
        {"SpotPriceHistory": [{"AvailabilityZone": zone, "SpotPrice": str(price), "Timestamp": now - timedelta(days=9),
                               "InstanceType": "g5.12xlarge", "ProductDescription": "Linux/UNIX"} for zone, price in zones]},
        {"InstanceTypes": ["g5.12xlarge"], "ProductDescriptions": ["Linux/UNIX"], "StartTime": ANY, "EndTime": ANY,
         "MaxResults": 1000},
    )


@pytest.fixture
def web(user):
    client = Client()
    client.force_login(user)
    return client


def test_form_panel_reads_the_market_only_when_spot_is_ticked(web, ec2):
    page = web.get("/jobs/spot-prices", {"form": "1", "instance_type": "ml.g5.12xlarge"}).content.decode()
    assert "tick “Use spot”" in page  # and the stub, with no response queued, saw no call
    market(ec2, ("us-east-1a", 2.5), ("us-east-1d", 1.75))
    page = web.get("/jobs/spot-prices", {"form": "1", "instance_type": "ml.g5.12xlarge", "use_spot": "on"}).content.decode()
    assert "Cheapest now: $1.750/h in us-east-1d" in page
    assert "EC2 spot, g5.12xlarge, Linux/UNIX in us-east-1, last 7 days" in page
    assert page.index("us-east-1d") < page.index("us-east-1a")
    assert "not as your bill" in page


def test_history_is_cached_between_form_changes(web, ec2):
    market(ec2, ("us-east-1a", 2.5))
    for _ in range(3):
        assert "Cheapest now: $2.500/h" in web.get("/jobs/spot-prices", {"instance_type": "ml.g5.12xlarge"}).content.decode()


def test_no_market_and_errors_are_said_plainly(web, ec2):
    market(ec2)  # EC2 answers with no prices
    page = web.get("/jobs/spot-prices", {"instance_type": "ml.g5.12xlarge"}).content.decode()
    assert "No spot prices were found for ml.g5.12xlarge in us-east-1" in page
    ec2.add_client_error("describe_spot_price_history", "RequestLimitExceeded", "Rate exceeded", http_status_code=503)
    page = web.get("/jobs/spot-prices", {"instance_type": "ml.g5.2xlarge"}).content.decode()
    assert "Spot prices are unavailable right now" in page and "Rate exceeded" in page


def test_unknown_instance_types_and_backends_without_the_capability_read_nothing(web, ec2, monkeypatch):
    page = web.get("/jobs/spot-prices", {"instance_type": "ml.made-up.huge"}).content.decode()
    assert "No spot price history is available for ml.made-up.huge" in page
    monkeypatch.setattr("apps.backends.registry.training_backend", lambda name: PlainBackend())
    page = web.get("/jobs/spot-prices", {"instance_type": "ml.g5.12xlarge"}).content.decode()
    assert "No spot price history is available for ml.g5.12xlarge" in page


def test_an_unknown_backend_name_is_not_an_error(web, settings):
    page = web.get("/jobs/spot-prices", {"instance_type": "ml.g5.12xlarge", "target": "nowhere"})
    assert page.status_code == 200 and "No spot price history is available" in page.content.decode()


def test_spot_jobs_and_the_form_carry_the_panel(web, user):
    spot = make_job(user, status=Status.RUNNING, spec={"use_spot": True, "instance_type": "ml.g5.12xlarge"})
    plain = make_job(user, status=Status.RUNNING, spec={"use_spot": False, "instance_type": "ml.g5.12xlarge"})
    page = web.get(f"/jobs/{spot.pk}/").content.decode()
    assert "/jobs/spot-prices?instance_type=ml.g5.12xlarge&amp;target=sagemaker" in page
    assert "spot-prices" not in web.get(f"/jobs/{plain.pk}/").content.decode()
    form = web.get("/jobs/new").content.decode()
    assert "/jobs/spot-prices?form=1" in form and 'hx-include="#id_instance_type, #id_use_spot"' in form
    assert 'id="id_use_spot"' in form and 'id="id_instance_type"' in form  # what the panel follows


def test_panel_needs_login(client):
    assert client.get("/jobs/spot-prices").status_code == 302
