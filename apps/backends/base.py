"""The contracts between ModelHub and the compute it drives.

Views and tasks talk to these interfaces only; `registry` picks the implementation by name
(`sagemaker`, `hyperpod`, `local`) from settings, so tests swap in scripted fakes. Every method
raises `apps.backends.errors.BackendError` subclasses, never a vendor exception.
"""

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class RemoteState:
    """What a backend reports about one remote object (training job or endpoint)."""

    name: str
    status: str  # the service's own status word, e.g. "InProgress", "InService"
    secondary_status: str = ""
    message: str = ""
    failure_reason: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    billable_seconds: int | None = None
    output_uri: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LogLine:
    timestamp: datetime
    message: str
    stream: str = ""


@dataclass(frozen=True)
class LogPage:
    lines: list[LogLine]
    next_token: str | None  # pass back to continue after the last line; None when there is nothing yet


class TrainingBackend(Protocol):
    name: str

    def submit(self, job) -> RemoteState:
        """Create the remote job for `job`, or adopt the one that already has its name."""

    def poll_many(self, jobs: Iterable) -> dict[str, RemoteState]:
        """Current state of many jobs, keyed by remote name, in as few calls as the service allows."""

    def describe(self, job) -> RemoteState: ...

    def stop(self, job) -> None:
        """Stop the remote job; a job that does not exist (yet, or any more) is not an error."""

    def logs(self, job, next_token: str | None = None, limit: int = 500) -> LogPage: ...

    def metrics(self, job) -> list[dict]: ...


class ServingBackend(Protocol):
    name: str

    def deploy(self, endpoint) -> RemoteState:
        """Create (or adopt) everything the endpoint needs; returns once creation has started."""

    def poll_many(self, endpoints: Iterable) -> dict[str, RemoteState]: ...

    def update(self, endpoint) -> RemoteState: ...

    def delete(self, endpoint) -> None:
        """Remove every remote piece; pieces already gone are not an error."""

    def invoke(self, endpoint, payload: dict) -> dict: ...

    def stream(self, endpoint, payload: dict) -> AsyncIterator[bytes]: ...
