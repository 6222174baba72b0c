"""Which node this is, from SageMaker's environment (SM_HOSTS, SM_CURRENT_HOST, SM_TRAINING_ENV)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

MASTER_PORT = 29500
RAY_PORT = 6379
EFA_FAMILIES = frozenset({"p4d", "p4de", "p5", "p5e", "p5en", "p6-b200"})


@dataclasses.dataclass(frozen=True)
class Node:
    hosts: tuple[str, ...]
    current_host: str
    master_addr: str
    instance_type: str = ""
    network_interface: str = ""

    @property
    def nnodes(self) -> int:
        return len(self.hosts)

    @property
    def rank(self) -> int:
        return self.hosts.index(self.current_host)

    @property
    def is_master(self) -> bool:
        return self.rank == 0


def node_from_env(env: Mapping[str, str]) -> Node:
    """SageMaker sets SM_HOSTS (JSON list) and SM_CURRENT_HOST; a local run is one node."""
    training_env = _json(env.get("SM_TRAINING_ENV"), {})
    hosts = _json(env.get("SM_HOSTS"), None) or training_env.get("hosts") or ["localhost"]
    hosts = [str(h) for h in hosts]
    master = training_env.get("master_hostname") or hosts[0]
    if master not in hosts:
        raise ValueError(f"Master host {master!r} is not in SM_HOSTS {hosts}.")
    hosts = (master, *(h for h in hosts if h != master))  # rank 0 is the master; the rest keep SM_HOSTS order
    current = env.get("SM_CURRENT_HOST") or training_env.get("current_host") or hosts[0]
    if current not in hosts:
        raise ValueError(f"Current host {current!r} is not in SM_HOSTS {list(hosts)}.")
    return Node(
        hosts=hosts, current_host=current, master_addr=master,
        instance_type=env.get("SM_CURRENT_INSTANCE_TYPE") or training_env.get("current_instance_type", ""),
        network_interface=env.get("SM_NETWORK_INTERFACE_NAME") or training_env.get("network_interface_name", ""),
    )


def uses_efa(node: Node) -> bool:
    family = node.instance_type.removeprefix("ml.").split(".", 1)[0]
    return node.nnodes > 1 and family in EFA_FAMILIES


def network_env(node: Node) -> dict[str, str]:
    """NCCL settings: EFA on instances that have it, else the SageMaker network interface."""
    env = {"NCCL_DEBUG": "WARN"}
    if node.nnodes == 1:
        return env
    if uses_efa(node):
        env.update(FI_PROVIDER="efa", FI_EFA_USE_DEVICE_RDMA="1", FI_EFA_FORK_SAFE="1")
    elif node.network_interface:
        env["NCCL_SOCKET_IFNAME"] = node.network_interface
    return env


def torchrun_env(node: Node) -> dict[str, str]:
    """What `llamafactory-cli train` needs to launch torchrun on this node."""
    env = {"FORCE_TORCHRUN": "1"}
    if node.nnodes > 1:
        env.update(NNODES=str(node.nnodes), NODE_RANK=str(node.rank), MASTER_ADDR=node.master_addr,
                   MASTER_PORT=str(MASTER_PORT))
    return env


def _json(text, default):
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default
