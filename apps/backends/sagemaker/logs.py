"""CloudWatch log tail of one training job's streams (every node), paginated by forward tokens.

SageMaker writes one stream per node, `<job name>/algo-<n>-<epoch>`, into one group. We list only
the streams under `<job name>/` (never the whole group) and keep one forward token per stream;
the page token we hand out is those tokens, encoded. A node whose stream appears later is read
from its start on the next page.
"""

import base64
import json
from datetime import UTC, datetime

from ..aws import aws_errors
from ..base import LogLine, LogPage
from ..errors import RemoteNotFound


def encode_token(positions: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(positions, separators=(",", ":")).encode()).decode()


def decode_token(token: str | None) -> dict[str, str]:
    if not token:
        return {}
    try:
        positions = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        raise ValueError("Invalid log token.") from None
    if not isinstance(positions, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in positions.items()):
        raise ValueError("Invalid log token.")
    return positions


def _streams(logs, group: str, prefix: str) -> list[str]:
    names, token = [], None
    while True:
        kwargs = {"logGroupName": group, "logStreamNamePrefix": prefix}
        if token:
            kwargs["nextToken"] = token
        page = logs.describe_log_streams(**kwargs)
        names += [s["logStreamName"] for s in page.get("logStreams", [])]
        token = page.get("nextToken")
        if not token:
            return sorted(names)


def tail(logs, group: str, job_name: str, next_token: str | None = None, limit: int = 500) -> LogPage:
    """The lines after `next_token` (from the start when None) of every stream of `job_name`."""
    positions = decode_token(next_token)
    try:
        with aws_errors():
            streams = _streams(logs, group, f"{job_name}/")
    except RemoteNotFound:  # the group appears with the first training job of the account
        return LogPage([], next_token)
    if not streams:
        return LogPage([], next_token)
    per_stream = max(1, limit // len(streams))
    lines: list[LogLine] = []
    for stream in streams:
        kwargs = {"logGroupName": group, "logStreamName": stream, "startFromHead": True, "limit": per_stream}
        if stream in positions:
            kwargs["nextToken"] = positions[stream]
        with aws_errors():
            page = logs.get_log_events(**kwargs)
        node = stream[len(job_name) + 1:]
        for event in page.get("events", []):
            stamp = datetime.fromtimestamp(event["timestamp"] / 1000, tz=UTC)
            lines.append(LogLine(stamp, event.get("message", "").rstrip("\n"), node))
        if page.get("nextForwardToken"):
            positions[stream] = page["nextForwardToken"]
    lines.sort(key=lambda line: line.timestamp)
    return LogPage(lines, encode_token(positions))
