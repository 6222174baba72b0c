"""An in-memory Kubernetes API (kmock) on a loopback port, for the official client.

`KubeServer` runs kmock's emulator on its own event loop in a thread; `emulator.objects` holds what
was created, and `requests` every request with its headers. kmock stores objects as plain dicts
(no schema, no controllers): tests play the operator by patching `status` themselves.
"""

import asyncio
import json
import threading

import kmock
from aiohttp import web
from kubernetes import client as k8s

from apps.backends.base import ClusterConnection

from .factories import FACTS


class Emulator(kmock.KubernetesEmulator):
    """kmock plus the two reads it lacks: /version, and the namespace list (its path parser fails on
    /api/v1/namespaces). Namespaces are those of the stored objects, plus the usual system ones."""

    async def __call__(self, raw_request):
        path = raw_request.path.rstrip("/")
        if raw_request.method == "GET" and path == "/version":
            return web.json_response({
                "major": "1", "minor": "31", "gitVersion": "v1.31.4-eks-2d5f260", "gitCommit": "2d5f260",
                "gitTreeState": "clean", "buildDate": "2026-11-01T00:00:00Z", "goVersion": "go1.23", "compiler": "gc",
                "platform": "linux/amd64"})
        if raw_request.method == "GET" and path == "/api/v1/namespaces":
            names = {"default", "kube-system", *(key[1] for key in self._objects if key[1])}
            items = [{"metadata": {"name": n}} for n in sorted(names)]
            return web.Response(text=json.dumps({"apiVersion": "v1", "kind": "NamespaceList", "items": items}),
                                content_type="application/json")
        return await super().__call__(raw_request)


class KubeServer:
    def __init__(self):
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("kmock did not start")

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self):
        self._stop = asyncio.Event()
        async with Emulator() as emulator, kmock.Server(emulator) as server:
            self.emulator, self.url = emulator, str(server.url).rstrip("/")
            self._ready.set()
            await self._stop.wait()

    def close(self):
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def requests(self) -> list:
        return list(self.emulator._requests)

    def calls(self, method: str) -> list:
        """Requests with this HTTP method, in order (each has .url.path, .headers, .text)."""
        return [r for r in self.requests if str(getattr(r.method, "value", r.method)).upper() == method]

    def authorizations(self) -> list[str]:
        return [r.headers.get("Authorization", "") for r in self.requests]

    def admin(self) -> k8s.ApiClient:
        """A client of the test's own (plays the operator, creates nodes and pods)."""
        configuration = k8s.Configuration()
        configuration.host = self.url
        return k8s.ApiClient(configuration)


def token_connection(server: KubeServer, cluster_id: int = 1, *, provider=None, facts=FACTS,
                     fingerprint: str = "") -> ClusterConnection:
    return ClusterConnection(
        cluster_id=cluster_id, name=f"cluster-{cluster_id}", region=facts.region, facts=facts, endpoint=server.url,
        token_provider=provider or (lambda: (f"token-{cluster_id}", 1e12)), fingerprint=fingerprint or server.url,
    )


CONNECTIONS: dict[int, ClusterConnection] = {}


def resolve(cluster_id: int) -> ClusterConnection:
    """The resolver the backend tests configure (settings.HYPERPOD_CLUSTER_RESOLVER)."""
    return CONNECTIONS[cluster_id]
