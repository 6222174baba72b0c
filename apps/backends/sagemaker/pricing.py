"""Spot insight for SageMaker training: the EC2 spot market behind a SageMaker instance type.

SageMaker has no API for managed spot training prices: a managed spot job is billed by SageMaker
for its billable seconds at the instance's SageMaker rate less a discount that AWS does not publish
per instance. What AWS does publish is the EC2 spot market of the same machine (`ml.g5.12xlarge`
runs on `g5.12xlarge`): DescribeSpotPriceHistory, per availability zone, Linux/UNIX. That is what
this module reads, and the page says so: it shows how the spot market for that machine moves and
where it is cheapest, not what SageMaker will charge (no "markup" is invented on top).

`SpotPrices` is a mixin for the SageMaker training backend, which declares `Capability.SPOT_PRICES`
when it mixes it in; the apps reach it only through the registry.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from django.conf import settings

from ..aws import aws_errors, client
from ..base import Capability, SpotPriceHistory, ZoneSpotPrices
from ..errors import RemoteValidationError

PRODUCT = "Linux/UNIX"  # the training containers run on Linux; other products have other markets
MAX_DAYS = 90  # EC2 keeps 90 days of spot price history
PAGE_SIZE = 1000  # the API's maximum
MAX_PAGES = 20  # 20,000 price changes is far more than one type's zones make in 90 days


def market_instance_type(instance_type: str) -> str:
    """The EC2 instance type a SageMaker instance type runs on ("ml.g5.12xlarge" -> "g5.12xlarge")."""
    return instance_type.removeprefix("ml.")


def summarise(records: Iterable[Mapping], start: datetime, end: datetime) -> tuple[ZoneSpotPrices, ...]:
    """Per-zone statistics of DescribeSpotPriceHistory records over [start, end], cheapest current price first.

    A record is a price change: its price holds from its Timestamp until the zone's next record. The API
    also returns the change in effect at `start` (with an earlier timestamp); it counts from `start`.
    """
    by_zone: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for record in records:
        by_zone[record["AvailabilityZone"]].append((record["Timestamp"], float(record["SpotPrice"])))
    zones = []
    for zone, changes in by_zone.items():
        changes.sort()
        in_effect = [(max(at, start), price) for at, price in changes if at <= end]
        if not in_effect:
            continue
        # Of several changes at or before `start`, only the last one was in effect in the period.
        first = max(i for i, (at, _) in enumerate(in_effect) if at == in_effect[0][0])
        in_effect = in_effect[first:]
        weighted = total = 0.0
        for (at, price), (until, _) in zip(in_effect, in_effect[1:] + [(end, 0.0)]):
            seconds = (until - at).total_seconds()
            weighted += price * seconds
            total += seconds
        prices = [price for _, price in in_effect]
        zones.append(ZoneSpotPrices(
            zone=zone, current=prices[-1], low=min(prices), high=max(prices),
            mean=weighted / total if total else prices[-1],
            changes=sum(1 for at, _ in changes if start < at <= end),
        ))
    return tuple(sorted(zones, key=lambda z: (z.current, z.zone)))


class SpotPrices:
    """Mixin: `spot_price_history(instance_type, days)` from the EC2 spot market (see the module doc)."""

    capabilities = frozenset({Capability.SPOT_PRICES})  # for the backend's own set: `... | SpotPrices.capabilities`
    _ec2 = None  # tests pass a stubbed client

    @property
    def ec2(self):
        return self._ec2 or client("ec2")

    def spot_price_history(self, instance_type: str, days: int = 7, now: datetime | None = None) -> SpotPriceHistory:
        days = min(max(int(days), 1), MAX_DAYS)
        end = now or datetime.now(UTC)
        start = end - timedelta(days=days)
        machine = market_instance_type(instance_type)
        records: list[dict] = []
        request = {"InstanceTypes": [machine], "ProductDescriptions": [PRODUCT], "StartTime": start, "EndTime": end,
                   "MaxResults": PAGE_SIZE}
        try:
            for _ in range(MAX_PAGES):
                with aws_errors():
                    page = self.ec2.describe_spot_price_history(**request)
                records.extend(page.get("SpotPriceHistory", []))
                if not page.get("NextToken"):
                    break
                request["NextToken"] = page["NextToken"]
        except RemoteValidationError as exc:
            if not str(exc).startswith("InvalidParameterValue"):
                raise
            records = []  # EC2 has no such instance type (a SageMaker-only type): no market to show
        return SpotPriceHistory(
            instance_type=instance_type, market=f"EC2 spot, {machine}, {PRODUCT}",
            region=getattr(self.ec2.meta, "region_name", "") or settings.AWS_REGION, days=days,
            zones=summarise(records, start, end),
        )
