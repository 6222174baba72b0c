"""Deployments and cluster facts for the HyperPod tests."""

from dataclasses import replace

from apps.backends.base import Autoscaling, Deployment, ModelSource
from apps.backends.base import ClusterFacts, InstanceCapacity

API_KEY = "sk-test-4f9c0a7e1b2d3c4e5f60718293a4b5c6"

FACTS = ClusterFacts(
    region="us-west-2",
    instances=(
        InstanceCapacity("ml.g5.12xlarge", nodes=2, gpus_per_node=4, cpus_per_node=47.5, memory_gib_per_node=180.0,
                         free_gpus=8),
        InstanceCapacity("ml.g5.2xlarge", nodes=1, gpus_per_node=1, cpus_per_node=7.9, memory_gib_per_node=28.0,
                         free_gpus=1),
    ),
    tiered_storage=True,
    tls_certificate_s3_uri="s3://modelhub-hyperpod-certs/endpoints",
)

VLLM_ARGV = (
    "python3", "-m", "vllm.entrypoints.openai.api_server",
    "--model", "/opt/ml/model", "--served-model-name", "Qwen3-8B", "--max-model-len", "12288",
    "--tensor-parallel-size", "2", "--gpu-memory-utilization", "0.9", "--enable-prefix-caching",
    "--host", "0.0.0.0", "--port", "8000",
)


def deployment(**changes) -> Deployment:
    """A vLLM deployment of an S3 model on two replicas of 2 GPUs; `changes` override fields,
    `options=` is merged into the default options."""
    options = {"cluster_id": 1, "namespace": "default", **changes.pop("options", {})}
    base = Deployment(
        endpoint_id=42,
        remote_name="mh-qwen3-8b-42",
        owner="alice",
        display_name="qwen",
        engine="vllm",
        engine_version="0.14.0",
        served_model_name="Qwen3-8B",
        model=ModelSource(uri="s3://models-bucket/jobs/7/merged/"),
        instance_type="ml.g5.12xlarge",
        instance_count=2,
        environment={},
        argv=VLLM_ARGV,
        options=options,
    )
    return replace(base, **changes)


def autoscaling(min_instances=1, max_instances=4, target=100) -> Autoscaling:
    return Autoscaling(min_instances=min_instances, max_instances=max_instances, target_invocations_per_instance=target)
