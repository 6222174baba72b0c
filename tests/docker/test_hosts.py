"""Node rank, master and network settings from SageMaker's environment."""

import json

import pytest

from modelhub_train import hosts


def env_for(current, all_hosts, **extra):
    return {"SM_HOSTS": json.dumps(all_hosts), "SM_CURRENT_HOST": current,
            "SM_TRAINING_ENV": json.dumps({"master_hostname": extra.pop("master", all_hosts[0])}), **extra}


def test_local_run_is_one_master_node():
    node = hosts.node_from_env({})
    assert (node.nnodes, node.rank, node.is_master, node.master_addr) == (1, 0, True, "localhost")
    assert hosts.torchrun_env(node) == {"FORCE_TORCHRUN": "1"}
    assert hosts.network_env(node) == {"NCCL_DEBUG": "WARN"}


def test_ranks_follow_sm_hosts_order_not_string_order():
    names = [f"algo-{i}" for i in range(1, 12)]
    ranks = [hosts.node_from_env(env_for(h, names)).rank for h in names]
    assert ranks == list(range(11))  # algo-10 is rank 9, not 1 as a string sort would make it


def test_master_is_rank_zero_and_address():
    node = hosts.node_from_env(env_for("algo-2", ["algo-1", "algo-2", "algo-3"], master="algo-3"))
    assert node.hosts == ("algo-3", "algo-1", "algo-2") and node.rank == 2 and not node.is_master
    assert hosts.torchrun_env(node) == {"FORCE_TORCHRUN": "1", "NNODES": "3", "NODE_RANK": "2",
                                        "MASTER_ADDR": "algo-3", "MASTER_PORT": "29500"}


def test_unknown_current_host_is_an_error():
    with pytest.raises(ValueError):
        hosts.node_from_env(env_for("algo-9", ["algo-1", "algo-2"]))


@pytest.mark.parametrize("instance,efa", [("ml.p4d.24xlarge", True), ("ml.p5.48xlarge", True),
                                          ("ml.g5.12xlarge", False), ("ml.g6e.48xlarge", False)])
def test_network_env_efa_or_socket(instance, efa):
    node = hosts.node_from_env(env_for("algo-1", ["algo-1", "algo-2"], SM_CURRENT_INSTANCE_TYPE=instance,
                                       SM_NETWORK_INTERFACE_NAME="eth0"))
    env = hosts.network_env(node)
    assert ("FI_PROVIDER" in env) is efa
    assert ("NCCL_SOCKET_IFNAME" in env) is (not efa)
    single = hosts.node_from_env(env_for("algo-1", ["algo-1"], SM_CURRENT_INSTANCE_TYPE=instance))
    assert "FI_PROVIDER" not in hosts.network_env(single)
