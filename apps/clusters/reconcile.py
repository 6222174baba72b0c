"""One look at a registered cluster, recorded on its row: reachable or not (with the reason),
Kubernetes version, namespaces, the operator's CRD, instance groups and free GPUs.

Only the inspection's own columns are written (an UPDATE of those fields), so a check never
overwrites settings an admin changed meanwhile.
"""

from django.utils import timezone

from apps.backends.base import ClusterInspection
from apps.backends.errors import BackendError

from .connection import backend, connection_for
from .models import Cluster


def inspect(row: Cluster) -> ClusterInspection:
    try:
        connection = connection_for(row)
    except BackendError as exc:
        return ClusterInspection(reachable=False, reason=str(exc))
    return backend().inspect(connection, remote_cluster=row.hyperpod_cluster_arn)


def capacity_data(inspection: ClusterInspection) -> dict:
    return {
        "instances": [i.as_dict() for i in inspection.instances],
        "instance_groups": [vars(g) for g in inspection.instance_groups],
        "warnings": list(inspection.warnings),
    }


def check(row: Cluster) -> Cluster:
    """Inspect the cluster and move it to active / unreachable."""
    inspection = inspect(row)
    now = timezone.now()
    if not inspection.reachable:
        fields = {"last_checked_at": now}
        if row.access == Cluster.Access.EKS:
            fields["api_endpoint"] = ""  # looked up again next time, in case the cluster moved
        if not row.transition(Cluster.Status.UNREACHABLE, inspection.reason, **fields):
            Cluster.objects.filter(pk=row.pk).update(status_reason=inspection.reason, **fields)
        row.refresh_from_db()
        return row

    fields = {
        "last_checked_at": now,
        "kubernetes_version": inspection.kubernetes_version,
        "namespaces": list(inspection.namespaces),
        "operator_installed": inspection.operator_installed,
        "hyperpod_status": inspection.remote_status,
        "capacity": capacity_data(inspection),
    }
    if inspection.api_endpoint and row.access == Cluster.Access.EKS:
        fields.update(api_endpoint=inspection.api_endpoint, ca_data=inspection.ca_data)
    if inspection.tiered_storage is not None:
        fields["tiered_storage_enabled"] = inspection.tiered_storage
    if row.operator_installed is not inspection.operator_installed:
        row.record_event(
            "The HyperPod inference operator is installed." if inspection.operator_installed else
            "The HyperPod inference operator's CRD is missing: install the operator (docs/hyperpod.md) "
            "before deploying here.",
            level="info" if inspection.operator_installed else "warning",
        )
    previous = (row.capacity or {}).get("warnings", [])
    for warning in inspection.warnings:
        if warning not in previous:  # once, not on every check
            row.record_event(warning, level="warning")
    reason = f"Reachable (Kubernetes {inspection.kubernetes_version})."
    if not row.transition(Cluster.Status.ACTIVE, reason, **fields):
        Cluster.objects.filter(pk=row.pk).update(**fields)
    row.refresh_from_db()
    return row
