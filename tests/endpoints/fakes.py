"""A scripted serving backend: endpoints walk through status sequences the test writes.

Install it with the `scripted_backend` fixture (tests/endpoints/conftest.py). Each remote endpoint
has a script (a list of status words, optionally with a failure reason); every `poll_many` advances
each endpoint one step, as SageMaker would between two reconcile cycles. Creating a name that
exists raises RemoteConflict like the real service, so adoption is exercised.
"""

from dataclasses import dataclass, field

from apps.backends.base import LogLine, LogPage, RemoteState
from apps.backends.errors import RemoteConflict, RemoteNotFound

NOT_FOUND = "NotFound"


@dataclass
class RemoteEndpoint:
    name: str
    script: list[str]
    failure_reason: str = ""
    instance_count: int = 1
    autoscaling: dict | None = None

    @property
    def status(self) -> str:
        return self.script[0]

    def advance(self) -> None:
        if len(self.script) > 1:
            self.script.pop(0)


@dataclass
class World:
    endpoints: dict[str, RemoteEndpoint] = field(default_factory=dict)
    # What the next deploy of a name plays; default: Creating, Creating, InService.
    deploy_scripts: dict[str, tuple[list[str], str]] = field(default_factory=dict)
    update_script: list[str] = field(default_factory=lambda: ["Updating", "InService"])
    delete_script: list[str] = field(default_factory=lambda: ["Deleting", "Deleting", NOT_FOUND])
    logs: dict[str, list[str]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    raise_on: dict[str, Exception] = field(default_factory=dict)  # method -> error to raise once


class ScriptedServing:
    name = "scripted"
    world = World()

    @classmethod
    def reset(cls) -> World:
        cls.world = World()
        return cls.world

    def _call(self, method: str, name: str) -> None:
        self.world.calls.append((method, name))
        error = self.world.raise_on.pop(method, None)
        if error is not None:
            raise error

    def _state(self, name: str) -> RemoteState:
        remote = self.world.endpoints.get(name)
        if remote is None or remote.status == NOT_FOUND:
            return RemoteState(name=name, status=NOT_FOUND)
        failure = remote.failure_reason if remote.status == "Failed" else ""
        return RemoteState(name=name, status=remote.status, failure_reason=failure,
                           extra={"desired_instance_count": remote.instance_count,
                                  "invocation_url": f"https://fake/{name}", "region": "us-test-1"})

    def create(self, name: str) -> None:
        """What CreateEndpoint does: a second create of a live name is a conflict."""
        if name in self.world.endpoints and self.world.endpoints[name].status != NOT_FOUND:
            raise RemoteConflict(f"Cannot create already existing endpoint {name}.")
        script, reason = self.world.deploy_scripts.get(name, (["Creating", "Creating", "InService"], ""))
        self.world.endpoints[name] = RemoteEndpoint(name, list(script), reason)

    def deploy(self, endpoint) -> RemoteState:
        self._call("deploy", endpoint.remote_name)
        remote = self.world.endpoints.get(endpoint.remote_name)
        if remote is None or remote.status == NOT_FOUND:
            self.create(endpoint.remote_name)
        return self._state(endpoint.remote_name)

    def poll_many(self, endpoints) -> dict[str, RemoteState]:
        states = {}
        for endpoint in endpoints:
            self._call("poll", endpoint.remote_name)
            remote = self.world.endpoints.get(endpoint.remote_name)
            if remote is not None:
                remote.advance()
            states[endpoint.remote_name] = self._state(endpoint.remote_name)
        return states

    def update(self, endpoint) -> RemoteState:
        self._call("update", endpoint.remote_name)
        remote = self.world.endpoints.get(endpoint.remote_name)
        if remote is None or remote.status == NOT_FOUND:
            raise RemoteNotFound(f"No endpoint {endpoint.remote_name}.")
        remote.autoscaling = endpoint.autoscaling
        if remote.instance_count != endpoint.instance_count and not endpoint.autoscaling:
            remote.instance_count = endpoint.instance_count
            remote.script = list(self.world.update_script)
        return self._state(endpoint.remote_name)

    def delete(self, endpoint) -> None:
        self._call("delete", endpoint.remote_name)
        remote = self.world.endpoints.get(endpoint.remote_name)
        if remote is not None and remote.status != NOT_FOUND:
            remote.script = list(self.world.delete_script)

    def logs(self, endpoint, next_token=None, limit: int = 50) -> LogPage:
        from django.utils import timezone

        lines = self.world.logs.get(endpoint.remote_name, [])[-limit:]
        return LogPage([LogLine(timezone.now(), text, "AllTraffic/i-0") for text in lines], None)

    def invoke(self, endpoint, payload: dict) -> dict:
        self._call("invoke", endpoint.remote_name)
        return {"choices": [{"message": {"role": "assistant", "content": "ok"}}]}

    async def stream(self, endpoint, payload: dict):
        yield b'data: {"choices": [{"delta": {"content": "ok"}}]}\n\n'
