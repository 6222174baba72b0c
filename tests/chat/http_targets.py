"""Chat-only stand-ins for the HyperPod and local targets, until their serving backends exist:
they chat with an OpenAI-compatible server through `apps.backends.http_upstream.HttpChat`, as
those backends will. The chat tests register them for the web server they start
(MODELHUB_TEST_SERVING_BACKENDS, read by modelhub/test_settings.py); a real backend wins."""

import json

from apps.backends.base import Capability, Readiness
from apps.backends.http_upstream import HttpChat


class _ChatOnly(HttpChat):
    capabilities = frozenset({Capability.STREAMING_CHAT})

    def readiness(self) -> Readiness:
        return Readiness(usable=True)


class HyperPodChat(_ChatOnly):
    name = "hyperpod"
    label = "HyperPod"


class LocalChat(_ChatOnly):
    name = "local"
    label = "Local"


ENVIRONMENT = {"MODELHUB_TEST_SERVING_BACKENDS": json.dumps({
    "hyperpod": f"{__name__}.HyperPodChat", "local": f"{__name__}.LocalChat"})}
