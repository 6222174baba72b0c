import pytest

from apps.backends.hyperpod import cluster

from . import kube


@pytest.fixture
def kube_server():
    server = kube.KubeServer()
    yield server
    server.close()


@pytest.fixture
def connected(kube_server, settings):
    """Cluster 1 served by kmock, reachable through the backend's resolver."""
    settings.HYPERPOD_CLUSTER_RESOLVER = "tests.backends.hyperpod.kube.resolve"
    kube.CONNECTIONS[1] = kube.token_connection(kube_server, 1)
    yield kube_server
    kube.CONNECTIONS.clear()
    cluster.forget(1)
