"""Plain values the HyperPod backend works with: what a cluster has, and how to reach it.

The clusters app fills these from its rows (through the resolver named in
settings.HYPERPOD_CLUSTER_RESOLVER); the backend never reads the rows itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class InstanceCapacity:
    """One instance type of a cluster: per-node shape and what is free over all its nodes."""

    instance_type: str
    nodes: int
    gpus_per_node: int
    cpus_per_node: float  # allocatable cores
    memory_gib_per_node: float  # allocatable memory
    free_gpus: int | None = None  # over all nodes; None when unknown (not checked)

    def as_dict(self) -> dict:
        return {
            "instance_type": self.instance_type, "nodes": self.nodes, "gpus_per_node": self.gpus_per_node,
            "cpus_per_node": self.cpus_per_node, "memory_gib_per_node": self.memory_gib_per_node,
            "free_gpus": self.free_gpus,
        }

    @classmethod
    def from_dict(cls, data: dict) -> InstanceCapacity:
        return cls(**{k: data.get(k) for k in (
            "instance_type", "nodes", "gpus_per_node", "cpus_per_node", "memory_gib_per_node", "free_gpus")})


@dataclass(frozen=True)
class ClusterFacts:
    """What the manifest renderer and its validator need to know about the target cluster."""

    region: str
    instances: tuple[InstanceCapacity, ...] = ()
    tiered_storage: bool = False  # HyperPod TieredStorageConfig enabled (needed for an L2 'tieredstorage' cache)
    tls_certificate_s3_uri: str = ""  # where the operator writes the endpoint's TLS certificate

    def capacity(self, instance_type: str) -> InstanceCapacity | None:
        return next((i for i in self.instances if i.instance_type == instance_type), None)


@dataclass(frozen=True)
class ClusterConnection:
    """How to reach one cluster's Kubernetes API. Exactly one of `token_provider` / `kubeconfig`."""

    cluster_id: int
    name: str
    region: str
    facts: ClusterFacts
    endpoint: str = ""  # https://<EKS API server>
    ca_data: str = ""  # base64 PEM, as EKS describe_cluster returns it
    token_provider: Callable[[], tuple[str, float]] | None = field(default=None, repr=False)  # (token, expires_at)
    kubeconfig: str = field(default="", repr=False)  # an uploaded kubeconfig's text
    fingerprint: str = ""  # changes when the connection settings change (a cached client is rebuilt)
