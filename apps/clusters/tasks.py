"""Cluster tasks: the beat-driven reconcile fans out one check per cluster."""

from celery import shared_task

from apps.core.taskbase import object_task

from . import reconcile
from .models import Cluster


@object_task("clusters.check", model="clusters.Cluster", time_limit=120)
def check_cluster(cluster: Cluster) -> None:
    reconcile.check(cluster)


@shared_task(name="clusters.reconcile", soft_time_limit=50, time_limit=60)
def reconcile_clusters() -> int:
    ids = list(Cluster.objects.values_list("pk", flat=True))
    for pk in ids:
        check_cluster.delay(pk)
    return len(ids)
