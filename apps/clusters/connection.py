"""The HyperPod backend's view of a registered cluster (settings.HYPERPOD_CLUSTER_RESOLVER).

`resolve(cluster_id)` turns a Cluster row into a `ClusterConnection`: how to reach its Kubernetes
API (EKS endpoint + a token provider, or the uploaded kubeconfig) and the facts the manifest
renderer checks against (instance capacity, tiered storage, TLS certificate location).
"""

import hashlib
from functools import partial

from django.conf import settings

from apps.backends.errors import RemoteValidationError
from apps.backends.hyperpod import cluster as hyperpod
from apps.backends.hyperpod.facts import ClusterConnection, ClusterFacts, InstanceCapacity

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
    """A connection for the row; an EKS cluster's endpoint and CA are looked up (and kept) when missing."""
    common = {"cluster_id": row.pk, "name": row.name, "region": row.region, "facts": facts(row)}
    if row.access == Cluster.Access.KUBECONFIG:
        if not row.kubeconfig:
            raise RemoteValidationError(f"Cluster {row.name} has no kubeconfig; upload one or register it by EKS name.")
        return ClusterConnection(**common, kubeconfig=row.kubeconfig, fingerprint=_fingerprint(row))
    if not row.api_endpoint:
        row.api_endpoint, row.ca_data = hyperpod.eks_endpoint(row.eks_cluster_name, row.region)
        Cluster.objects.filter(pk=row.pk).update(api_endpoint=row.api_endpoint, ca_data=row.ca_data)
    return ClusterConnection(
        **common, endpoint=row.api_endpoint, ca_data=row.ca_data,
        token_provider=partial(hyperpod.eks_token, row.eks_cluster_name, row.region, row.role_arn),
        fingerprint=_fingerprint(row),
    )


def resolve(cluster_id: int) -> ClusterConnection:
    row = Cluster.objects.filter(pk=cluster_id).first()
    if row is None:
        raise RemoteValidationError(f"HyperPod cluster {cluster_id} is not registered (any more).")
    return connection_for(row)
