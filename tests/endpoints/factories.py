"""Endpoint rows for tests, made as services.create_endpoint makes them (the spec validator has its own tests)."""

from apps.endpoints import services
from apps.endpoints.models import Endpoint
from apps.endpoints.spec import DeploySpec

ROLE = "arn:aws:iam::123456789012:role/modelhub-serving"


def spec_dict(instance_type="ml.g4dn.xlarge", engine="vllm", **overrides) -> dict:
    values = {"engine": engine, "instance_type": instance_type, "engine_version": "0.30.0", "max_model_len": 4096,
              "tensor_parallel_size": 1, "dtype": "float16",
              "inference_ami_version": "al2023-ami-sagemaker-inference-gpu-4-1", **overrides}
    return DeploySpec.from_dict(values).to_dict()


def make_endpoint(owner, *, model_uri="s3://models-bucket/jobs/7/merged/", source="s3", status=None,
                  instance_type="ml.g4dn.xlarge", instance_count=1, spec=None, **fields) -> Endpoint:
    """A row as services.create_endpoint makes it (queued, names derived), without running its task."""
    from django.db import transaction

    with transaction.atomic():
        endpoint = services.create_endpoint(
            owner, name=fields.pop("name", ""), source=source, model_uri=model_uri, engine="vllm",
            instance_type=instance_type, instance_count=instance_count,
            spec=spec or spec_dict(instance_type), served_model_name=fields.pop("served_model_name", "merged"),
            **fields,
        )
    if status:
        Endpoint.objects.filter(pk=endpoint.pk).update(status=status)
        endpoint.refresh_from_db()
    return endpoint
