"""What the pages and the API do to clusters. Registering or changing one checks it at once."""


from apps.core.dispatch import send_on_commit

from .connection import backend
from .models import Cluster


class ClusterInUse(Exception):
    pass


def _check_soon(cluster: Cluster) -> None:
    # A broker that refuses it never fails the request: clusters.reconcile checks every cluster anyway.
    send_on_commit("clusters.check", cluster.pk)


def registered(cluster: Cluster) -> None:
    cluster.record_event("Registered")
    _check_soon(cluster)


def settings_changed(cluster: Cluster) -> None:
    """Connection settings may have changed: forget the cached client and the looked-up endpoint."""
    Cluster.objects.filter(pk=cluster.pk).update(api_endpoint="", ca_data="")
    backend().forget(cluster.pk)
    cluster.record_event("Settings changed")
    _check_soon(cluster)


def endpoints_on(cluster: Cluster):
    """Live endpoints deployed to this cluster."""
    from apps.endpoints.models import Endpoint

    return Endpoint.objects.live().filter(target=Cluster.KIND, spec__target_options__cluster_id=cluster.pk)


def remove(cluster: Cluster) -> None:
    """Forget the cluster (nothing on the cluster itself is touched); refused while endpoints live on it."""
    live = list(endpoints_on(cluster).values_list("name", flat=True)[:5])
    if live:
        raise ClusterInUse(f"Endpoints still run on {cluster.name} ({', '.join(live)}); delete them first.")
    backend().forget(cluster.pk)
    cluster.delete()
