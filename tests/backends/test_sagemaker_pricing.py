"""Spot price history of the EC2 machine behind a SageMaker instance type (botocore Stubber plays EC2)."""

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from apps.backends.base import Capability, SpotPriceHistory, supports
from apps.backends.errors import TransientError
from apps.backends.sagemaker.pricing import SpotPrices, market_instance_type, summarise

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
START = NOW - timedelta(days=7)


def rec(zone, price, at):
    return {"AvailabilityZone": zone, "SpotPrice": f"{price:.6f}", "Timestamp": at,
            "InstanceType": "g5.12xlarge", "ProductDescription": "Linux/UNIX"}


class Backend(SpotPrices):
    def __init__(self, ec2):
        self._ec2 = ec2


@pytest.fixture
def ec2():
    client = boto3.client("ec2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_market_type_is_the_ec2_machine():
    assert market_instance_type("ml.p4d.24xlarge") == "p4d.24xlarge"
    assert market_instance_type("g5.xlarge") == "g5.xlarge"


def test_summary_weights_each_price_by_how_long_it_held_and_starts_at_the_period():
    records = [
        rec("us-east-1a", 9.0, START - timedelta(days=3)),  # superseded before the period: ignored
        rec("us-east-1a", 2.0, START - timedelta(days=1)),  # in effect when the period starts
        rec("us-east-1a", 4.0, START + timedelta(days=6)),  # holds for the last day
        rec("us-east-1b", 1.5, START + timedelta(days=1)),  # no price known before this one
    ]
    a, = [z for z in summarise(records, START, NOW) if z.zone == "us-east-1a"]
    assert (a.current, a.low, a.high, a.changes) == (4.0, 2.0, 4.0, 1)
    assert a.mean == pytest.approx((2.0 * 6 + 4.0 * 1) / 7)
    assert a.volatility == pytest.approx(1.0)
    zones = summarise(records, START, NOW)
    assert [z.zone for z in zones] == ["us-east-1b", "us-east-1a"]  # cheapest current price first
    b = zones[0]
    assert (b.current, b.low, b.high, b.mean, b.changes) == (1.5, 1.5, 1.5, 1.5, 1)
    assert b.volatility == 0


def test_summary_of_nothing_is_empty():
    assert summarise([], START, NOW) == ()


def test_history_reads_every_page_for_linux_in_the_period(ec2):
    client, stub = ec2
    expected = {"InstanceTypes": ["g5.12xlarge"], "ProductDescriptions": ["Linux/UNIX"], "StartTime": START,
                "EndTime": NOW, "MaxResults": 1000}
    stub.add_response("describe_spot_price_history",
                      {"SpotPriceHistory": [rec("eu-west-1a", 2.5, START + timedelta(days=2))], "NextToken": "page-2"},
                      expected)
    stub.add_response("describe_spot_price_history",
                      {"SpotPriceHistory": [rec("eu-west-1a", 2.0, START + timedelta(days=1)),
                                            rec("eu-west-1c", 1.8, START + timedelta(hours=1))], "NextToken": ""},
                      {**expected, "NextToken": "page-2"})
    history = Backend(client).spot_price_history("ml.g5.12xlarge", days=7, now=NOW)
    assert isinstance(history, SpotPriceHistory)
    assert (history.instance_type, history.region, history.days) == ("ml.g5.12xlarge", "eu-west-1", 7)
    assert history.market == "EC2 spot, g5.12xlarge, Linux/UNIX"
    assert [(z.zone, z.current, z.low, z.high) for z in history.zones] == [
        ("eu-west-1c", 1.8, 1.8, 1.8), ("eu-west-1a", 2.5, 2.0, 2.5)]
    assert history.cheapest.zone == "eu-west-1c"


def test_days_are_kept_within_what_ec2_keeps(ec2):
    client, stub = ec2
    for days in (90, 1):
        stub.add_response("describe_spot_price_history", {"SpotPriceHistory": []},
                          {"InstanceTypes": ["p5.48xlarge"], "ProductDescriptions": ["Linux/UNIX"],
                           "StartTime": NOW - timedelta(days=days), "EndTime": NOW, "MaxResults": 1000})
    assert Backend(client).spot_price_history("ml.p5.48xlarge", days=365, now=NOW).days == 90
    history = Backend(client).spot_price_history("ml.p5.48xlarge", days=0, now=NOW)
    assert history.days == 1 and history.zones == () and history.cheapest is None


def test_a_type_ec2_does_not_sell_has_no_market_and_throttling_is_transient(ec2):
    client, stub = ec2
    stub.add_client_error("describe_spot_price_history", "InvalidParameterValue",
                          "The instance type 'g5n.xlarge' is not supported.", http_status_code=400)
    assert Backend(client).spot_price_history("ml.g5n.xlarge", now=NOW).zones == ()
    stub.add_client_error("describe_spot_price_history", "RequestLimitExceeded", "Slow down", http_status_code=503)
    with pytest.raises(TransientError):
        Backend(client).spot_price_history("ml.g5.xlarge", now=NOW)


def test_the_mixin_declares_its_capability():
    class Training(SpotPrices):
        capabilities = frozenset({Capability.LOGS}) | SpotPrices.capabilities

    assert supports(Training(), Capability.SPOT_PRICES) and supports(Training(), Capability.LOGS)


def test_through_the_shared_aws_client_against_moto(monkeypatch, settings):
    """The request as the real client sends it (moto answers a fixed price per zone, dated long ago: the
    price in effect for the whole period)."""
    from moto import mock_aws

    from apps.backends import aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    settings.AWS_REGION = "us-east-1"
    aws.client.cache_clear()
    try:
        with mock_aws():
            history = SpotPrices().spot_price_history("ml.g5.12xlarge", days=30)
    finally:
        aws.client.cache_clear()
    assert history.region == "us-east-1" and history.days == 30
    assert history.zones and all(z.zone.startswith("us-east-1") for z in history.zones)
    assert all(z.current == z.low == z.high == z.mean and z.changes == 0 for z in history.zones)
