"""A remote service that every process of a fault test shares: training runs and endpoints kept in
a JSON file (under a lock), so the test process, web servers and the workers it kills see the same
remote resources, and can count them.

    MODELHUB_FAULT_REMOTE=/tmp/.../remote.json   (where the state lives; set by the `remote` fixture)

Targets (both named "faulty"): `FaultyTraining` and `FaultyServing`. Creating a name that exists adopts
it, as SageMaker's create-or-describe does, so `creates` counts real creations. `fail(method, kind)`
queues a fault raised by the next call of `method` anywhere: "throttle" (a 400 ThrottlingException)
or "5xx" (a 500 InternalFailure), both raised as botocore ClientErrors through `aws_errors`, so the
translation the SageMaker backends use is exercised too.
"""

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path

from botocore.exceptions import ClientError

from apps.backends.aws import aws_errors
from apps.backends.base import Capability, EndpointPhase, EngineImage, JobPhase, Readiness, RemoteState

ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "5xx": (500, "InternalFailure", "We encountered an internal error. Please try again."),
}
JOB_STEPS = {"starting": "running", "running": "succeeded", "stopping": "stopped"}
ENDPOINT_STEPS = {"creating": "in_service", "updating": "in_service", "deleting": "gone"}


def path() -> Path:
    return Path(os.environ["MODELHUB_FAULT_REMOTE"])


@contextmanager
def state():
    """The shared state, locked and written back on exit."""
    file = path()
    file.touch(exist_ok=True)
    with open(file, "r+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        text = handle.read()
        data = json.loads(text) if text else {"resources": {}, "faults": {}, "calls": []}
        try:
            yield data
        finally:  # a fault raised inside is consumed too
            handle.seek(0), handle.truncate()
            handle.write(json.dumps(data))


def read() -> dict:
    with state() as data:
        return data


def fail(method: str, *kinds: str) -> None:
    with state() as data:
        data["faults"].setdefault(method, []).extend(kinds)


def resources(kind: str) -> dict[str, dict]:
    return {name: r for name, r in read()["resources"].items() if r["kind"] == kind}


def _call(data: dict, method: str, name: str) -> None:
    data["calls"].append([method, name, os.getpid()])
    kinds = data["faults"].get(method) or []
    if kinds:
        status, code, message = ERRORS[kinds.pop(0)]
        raise ClientError({"Error": {"Code": code, "Message": message},
                           "ResponseMetadata": {"HTTPStatusCode": status}}, method)


def _create(data: dict, kind: str, name: str, phase: str) -> tuple[dict, bool]:
    """The resource named `name`, created unless it exists (then adopted)."""
    existing = data["resources"].get(name)
    if existing and existing["phase"] != "gone":
        return existing, True
    resource = data["resources"][name] = {"kind": kind, "phase": phase, "creates": 0, "deletes": 0}
    resource["creates"] = (existing or {}).get("creates", 0) + 1
    return resource, False


class FaultyTraining:
    name = "faulty"
    label = "Faulty (shared file)"
    capabilities = frozenset({Capability.STOP})

    def readiness(self):
        return Readiness(usable=True)

    def job_root(self, remote_name):
        return f"memory://faulty/{remote_name}/"

    def _state(self, name, resource, **extra):
        if resource is None:
            return RemoteState(name=name, phase=JobPhase.NOT_FOUND)
        return RemoteState(name=name, phase=JobPhase(resource["phase"]), remote_status=resource["phase"].title(),
                           detail=resource["phase"], remote_id=f"faulty:{name}", **extra)

    @aws_errors()
    def submit(self, submission):
        with state() as data:
            _call(data, "submit", submission.remote_name)
            resource, adopted = _create(data, "job", submission.remote_name, "starting")
            return self._state(submission.remote_name, resource, adopted=adopted)

    @aws_errors()
    def describe(self, ref):
        with state() as data:
            _call(data, "describe", ref.remote_name)
            return self._state(ref.remote_name, data["resources"].get(ref.remote_name))

    @aws_errors()
    def poll_many(self, refs):
        with state() as data:
            _call(data, "poll_many", "")
            found = {}
            for ref in refs:
                resource = data["resources"].get(ref.remote_name)
                if resource is not None:
                    resource["phase"] = JOB_STEPS.get(resource["phase"], resource["phase"])
                    found[ref.remote_name] = self._state(ref.remote_name, resource)
            return found

    @aws_errors()
    def stop(self, ref):
        with state() as data:
            _call(data, "stop", ref.remote_name)
            resource = data["resources"].get(ref.remote_name)
            if resource and resource["phase"] in ("starting", "running"):
                resource["phase"] = "stopping"


class FaultyServing:
    name = "faulty"
    label = "Faulty (shared file)"
    capabilities = frozenset()

    def readiness(self):
        return Readiness(usable=True)

    def engine_image(self, engine, version="", region=""):
        return EngineImage(uri=f"faulty.example/{engine}:{version or 'latest'}", version=version)

    def _state(self, name, resource, **extra):
        if resource is None or resource["phase"] == "gone":
            return RemoteState(name=name, phase=EndpointPhase.NOT_FOUND)
        return RemoteState(name=name, phase=EndpointPhase(resource["phase"]), remote_status=resource["phase"],
                           invocation_url=f"https://faulty/{name}", **extra)

    @aws_errors()
    def deploy(self, deployment):
        with state() as data:
            _call(data, "deploy", deployment.remote_name)
            resource, adopted = _create(data, "endpoint", deployment.remote_name, "creating")
            return self._state(deployment.remote_name, resource, adopted=adopted)

    @aws_errors()
    def describe(self, ref):
        with state() as data:
            _call(data, "describe", ref.remote_name)
            return self._state(ref.remote_name, data["resources"].get(ref.remote_name))

    @aws_errors()
    def poll_many(self, refs):
        with state() as data:
            _call(data, "poll_many", "")
            found = {}
            for ref in refs:
                resource = data["resources"].get(ref.remote_name)
                if resource is not None:
                    resource["phase"] = ENDPOINT_STEPS.get(resource["phase"], resource["phase"])
                found[ref.remote_name] = self._state(ref.remote_name, resource)
            return found

    @aws_errors()
    def update(self, deployment, ref):
        with state() as data:
            _call(data, "update", ref.remote_name)
            return self._state(ref.remote_name, data["resources"].get(ref.remote_name))

    @aws_errors()
    def delete(self, ref):
        with state() as data:
            _call(data, "delete", ref.remote_name)
            resource = data["resources"].get(ref.remote_name)
            if resource and resource["phase"] not in ("gone", "deleting"):
                resource["phase"] = "deleting"
                resource["deletes"] += 1
