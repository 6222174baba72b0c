"""An in-memory serving target, as Django ships a locmem e-mail backend: for tests and demos.

Select it in settings (SERVING_BACKENDS = {"<target>": "apps.backends.fake.serving.FakeServing"});
the `fake_serving` test fixture does so and returns the `World` that scripts it:

- every endpoint plays a script of status words, one step per `poll_many` (the last one stays):
  the next deploy of a name plays `deploy_scripts[name]` (default: creating, creating, in_service),
  a scale plays `update_script`, a delete `delete_script`; words that are EndpointPhase values
  mean that phase, any other word is a status the target does not explain (phase UNKNOWN);
- `logs[name]` are its log lines; `raise_on[method]` is raised once by the next call of `method`;
- chat answers `reply`, streamed as OpenAI `chat.completion.chunk` SSE events (one per word, then
  usage and `[DONE]`) or completed as one `chat.completion`; every request body is kept in `chats`.

It declares every capability. Creating a name that is live is a conflict, as on a real service,
so adoption is exercised.
"""

import json
import time
from dataclasses import dataclass, field

from django.utils import timezone

from apps.backends.base import (
    Autoscaling,
    Capability,
    Deployment,
    EndpointPhase,
    EndpointRef,
    EngineImage,
    LogLine,
    LogPage,
    Readiness,
    RemoteState,
)
from apps.backends.errors import RemoteConflict, RemoteNotFound

GONE = EndpointPhase.NOT_FOUND.value
REGION = "fake-region-1"


@dataclass
class FakeEndpoint:
    name: str
    script: list[str]
    failure_reason: str = ""
    instance_count: int = 1
    autoscaling: Autoscaling | None = None
    deployment: Deployment | None = None

    @property
    def status(self) -> str:
        return self.script[0]

    def advance(self) -> None:
        if len(self.script) > 1:
            self.script.pop(0)


@dataclass
class World:
    endpoints: dict[str, FakeEndpoint] = field(default_factory=dict)
    deploy_scripts: dict[str, tuple[list[str], str]] = field(default_factory=dict)  # name -> (script, reason)
    update_script: list[str] = field(default_factory=lambda: ["updating", "in_service"])
    delete_script: list[str] = field(default_factory=lambda: ["deleting", "deleting", GONE])
    logs: dict[str, list[str]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    raise_on: dict[str, Exception] = field(default_factory=dict)
    reply: str = "Hello from the fake target."
    chats: list[tuple[str, dict]] = field(default_factory=list)
    missing: tuple[str, ...] = ()  # what readiness() reports missing

    def create(self, name: str, deployment: Deployment | None = None) -> None:
        """What a create call does on a real service: a second create of a live name is a conflict."""
        if name in self.endpoints and self.endpoints[name].status != GONE:
            raise RemoteConflict(f"Cannot create already existing endpoint {name}.")
        script, reason = self.deploy_scripts.get(name, (["creating", "creating", "in_service"], ""))
        count = deployment.instance_count if deployment else 1
        self.endpoints[name] = FakeEndpoint(name, list(script), reason, count, None, deployment)


def _phase(word: str) -> str:
    try:
        return EndpointPhase(word)
    except ValueError:
        return EndpointPhase.UNKNOWN


class FakeServing:
    name = "fake"
    label = "Fake target"
    capabilities = frozenset(Capability) - {Capability.API_KEY}  # its endpoints are called without a key
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

    def _state(self, name: str, **extra) -> RemoteState:
        remote = self.world.endpoints.get(name)
        if remote is None or remote.status == GONE:
            return RemoteState(name=name, phase=EndpointPhase.NOT_FOUND)
        phase = _phase(remote.status)
        return RemoteState(
            name=name, phase=phase, remote_status=remote.status,
            failure_reason=remote.failure_reason if phase == EndpointPhase.FAILED else "",
            instances=(remote.instance_count, remote.instance_count),
            invocation_url=f"https://fake/{name}", **extra,
        )

    def readiness(self) -> Readiness:
        return Readiness(usable=not self.world.missing, missing=self.world.missing)

    def engine_image(self, engine: str, version: str = "", region: str = "") -> EngineImage:
        return EngineImage(uri=f"fake.example/{engine}:{version or 'latest'}", version=version)

    def deploy(self, deployment: Deployment) -> RemoteState:
        name = deployment.remote_name
        self._call("deploy", name)
        remote = self.world.endpoints.get(name)
        adopted = remote is not None and remote.status != GONE
        if not adopted:
            self.world.create(name, deployment)
        return self._state(name, adopted=adopted, region=REGION)

    def describe(self, ref: EndpointRef) -> RemoteState:
        self._call("describe", ref.remote_name)
        return self._state(ref.remote_name)

    def poll_many(self, refs) -> dict[str, RemoteState]:
        states = {}
        for ref in refs:
            self._call("poll", ref.remote_name)
            remote = self.world.endpoints.get(ref.remote_name)
            if remote is not None:
                remote.advance()
            states[ref.remote_name] = self._state(ref.remote_name)
        return states

    def update(self, deployment: Deployment, ref: EndpointRef) -> RemoteState:
        self._call("update", ref.remote_name)
        remote = self.world.endpoints.get(ref.remote_name)
        if remote is None or remote.status == GONE:
            raise RemoteNotFound(f"No endpoint {ref.remote_name}.")
        remote.autoscaling = deployment.autoscaling
        if remote.instance_count != deployment.instance_count and not deployment.autoscaling:
            remote.instance_count = deployment.instance_count
            remote.script = list(self.world.update_script)
        return self._state(ref.remote_name)

    def delete(self, ref: EndpointRef) -> None:
        self._call("delete", ref.remote_name)
        remote = self.world.endpoints.get(ref.remote_name)
        if remote is not None and remote.status != GONE:
            remote.script = list(self.world.delete_script)

    def logs(self, ref: EndpointRef, next_token: str | None = None, limit: int = 50) -> LogPage:
        lines = self.world.logs.get(ref.remote_name, [])[-limit:]
        return LogPage([LogLine(timezone.now(), text, "worker-0") for text in lines], None,
                       source=f"the fake target's log of {ref.remote_name}")

    # chat ---------------------------------------------------------------------------------

    def _answer(self, ref: EndpointRef, body: bytes) -> tuple[dict, list[str]]:
        self._call("chat", ref.remote_name)
        request = json.loads(body)
        self.world.chats.append((ref.remote_name, request))
        words = self.world.reply.split(" ")
        return request, [word if i == 0 else " " + word for i, word in enumerate(words)]

    def _usage(self, pieces: list[str]) -> dict:
        return {"prompt_tokens": 3, "completion_tokens": len(pieces), "total_tokens": 3 + len(pieces)}

    async def stream(self, ref: EndpointRef, body: bytes):
        request, pieces = self._answer(ref, body)
        return self._events(request.get("model", ""), pieces)

    async def _events(self, model: str, pieces: list[str]):
        created = int(time.time())

        def event(delta: dict, finish=None, **extra) -> bytes:
            chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
            return b"data: " + json.dumps(chunk).encode() + b"\n\n"

        yield event({"role": "assistant", "content": ""})
        for piece in pieces:
            yield event({"content": piece})
        yield event({}, "stop", usage=self._usage(pieces)) + b"data: [DONE]\n\n"

    async def complete(self, ref: EndpointRef, body: bytes) -> bytes:
        request, pieces = self._answer(ref, body)
        return json.dumps({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": request.get("model", ""), "usage": self._usage(pieces),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(pieces)},
                         "finish_reason": "stop"}],
        }).encode()
