"""The HyperPod backend's view of a registered cluster (settings.HYPERPOD_CLUSTER_RESOLVER).

`resolve(cluster_id)` turns a Cluster row into a `ClusterConnection` (apps.backends.base): how to
reach its Kubernetes API (the EKS cluster's name, or the uploaded kubeconfig) and the facts a
deployment is checked against (instance capacity, tiered storage, TLS certificate location).
"""

import hashlib

from django.conf import settings

from apps.backends import registry
from apps.backends.base import ClusterConnection, ClusterFacts, InstanceCapacity
from apps.backends.errors import RemoteValidationError

from .models import Cluster


def facts(row: Cluster) -> ClusterFacts:
    return ClusterFacts(
        region=row.region,
        instances=tuple(InstanceCapacity.from_dict(i) for i in (row.capacity or {}).get("instances", [])),
        tiered_storage=row.tiered_storage_enabled,
        tls_certificate_s3_uri=row.tls_certificate_s3_uri or settings.HYPERPOD_TLS_CERTIFICATE_S3_URI,
    )


def _fingerprint(row: Cluster) -> str:
    parts = (row.access, row.api_endpoint, row.ca_data, row.eks_cluster_name, row.region, row.role_arn,
             hashlib.sha256(row.kubeconfig.encode()).hexdigest() if row.kubeconfig else "")
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def connection_for(row: Cluster) -> ClusterConnection:
    """A connection for the row; an EKS cluster's endpoint and CA are the ones its last check found
    (the backend looks them up when there are none yet)."""
    common = {"cluster_id": row.pk, "name": row.name, "region": row.region, "facts": facts(row),
              "fingerprint": _fingerprint(row)}
    if row.access == Cluster.Access.KUBECONFIG:
        if not row.kubeconfig:
            raise RemoteValidationError(f"Cluster {row.name} has no kubeconfig; upload one or register it by EKS name.")
        return ClusterConnection(**common, kubeconfig=row.kubeconfig)
    return ClusterConnection(**common, eks_cluster_name=row.eks_cluster_name, role_arn=row.role_arn,
                             endpoint=row.api_endpoint, ca_data=row.ca_data)


def backend():
    """The cluster backend registered clusters are reached through (settings.CLUSTER_BACKENDS)."""
    return registry.cluster_backend(Cluster.KIND)


def resolve(cluster_id: int) -> ClusterConnection:
    row = Cluster.objects.filter(pk=cluster_id).first()
    if row is None:
        raise RemoteValidationError(f"HyperPod cluster {cluster_id} is not registered (any more).")
    return connection_for(row)
