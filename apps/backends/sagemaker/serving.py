"""SageMaker real-time endpoints: deploy, watch in bulk, scale, delete, logs.

One SageMaker model, endpoint config and endpoint per ModelHub endpoint, all three named
`endpoint.remote_name`. Every create first describes and adopts what already has the name, and
treats a duplicate-name error as "adopt", so a retried or twice-delivered deploy never makes a
second copy. Deletion removes the autoscaling registration, endpoint, config and model and
tolerates any of them being gone already.
"""

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from botocore.exceptions import ClientError
from django.conf import settings

from apps.backends.aws import aws_errors, client
from apps.backends.base import LogLine, LogPage, RemoteState
from apps.backends.errors import BackendError, RemoteConflict, RemoteNotFound, RemoteValidationError

VARIANT = "AllTraffic"
NOT_FOUND = "NotFound"  # our status word for "the service has no endpoint of that name"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SCALING_POLICY = "modelhub-invocations-per-instance"

# Every EndpointStatus value the service documents (botocore 1.44.8).
ENDPOINT_STATUSES = frozenset({
    "Creating", "Updating", "SystemUpdating", "RollingBack", "InService", "OutOfService", "Deleting", "Failed",
    "UpdateRollbackFailed",
})


def log_group(remote_name: str) -> str:
    return f"/aws/sagemaker/Endpoints/{remote_name}"


def invocation_url(region: str, remote_name: str) -> str:
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://runtime.sagemaker.{region}.{domain}/endpoints/{remote_name}/invocations"


def scalable_resource_id(remote_name: str) -> str:
    return f"endpoint/{remote_name}/variant/{VARIANT}"


def _tags(endpoint) -> list[dict]:
    return [
        {"Key": "modelhub:endpoint-id", "Value": str(endpoint.pk)},
        {"Key": "modelhub:endpoint-name", "Value": endpoint.name},
        {"Key": "modelhub:owner", "Value": endpoint.owner.get_username()},
    ]


# --- request shapes (pure) -------------------------------------------------------------------

def model_request(endpoint, container: dict) -> dict:
    return {
        "ModelName": endpoint.remote_name,
        "ExecutionRoleArn": settings.SAGEMAKER_ROLE_ARN,
        "PrimaryContainer": container,
        "Tags": _tags(endpoint),
    }


def endpoint_config_request(endpoint) -> dict:
    spec = endpoint.spec or {}
    variant = {
        "VariantName": VARIANT,
        "ModelName": endpoint.remote_name,
        "InstanceType": endpoint.instance_type,
        "InitialInstanceCount": endpoint.instance_count,
        "InitialVariantWeight": 1.0,
    }
    for key, field in (
        ("ContainerStartupHealthCheckTimeoutInSeconds", "container_startup_health_check_timeout"),
        ("ModelDataDownloadTimeoutInSeconds", "model_data_download_timeout"),
    ):
        if spec.get(field):
            variant[key] = int(spec[field])
    if spec.get("inference_ami_version"):
        variant["InferenceAmiVersion"] = spec["inference_ami_version"]
    return {"EndpointConfigName": endpoint.remote_name, "ProductionVariants": [variant], "Tags": _tags(endpoint)}


def endpoint_request(endpoint) -> dict:
    return {"EndpointName": endpoint.remote_name, "EndpointConfigName": endpoint.remote_name, "Tags": _tags(endpoint)}


def scaling_policy_request(remote_name: str, autoscaling: dict) -> dict:
    return {
        "PolicyName": SCALING_POLICY,
        "ServiceNamespace": "sagemaker",
        "ResourceId": scalable_resource_id(remote_name),
        "ScalableDimension": SCALABLE_DIMENSION,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": float(autoscaling["target_invocations_per_instance"]),
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            "ScaleInCooldown": int(autoscaling.get("scale_in_cooldown", 300)),
            "ScaleOutCooldown": int(autoscaling.get("scale_out_cooldown", 60)),
        },
    }


def state_from_description(description: dict) -> RemoteState:
    variants = description.get("ProductionVariants") or []
    current = sum(v.get("CurrentInstanceCount") or 0 for v in variants)
    desired = sum(v.get("DesiredInstanceCount") or 0 for v in variants)
    return RemoteState(
        name=description["EndpointName"],
        status=description["EndpointStatus"],
        failure_reason=description.get("FailureReason", "") or "",
        extra={
            "arn": description.get("EndpointArn", ""),
            "current_instance_count": current,
            "desired_instance_count": desired,
            "last_modified": _iso(description.get("LastModifiedTime")),
        },
    )


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


def _unless_missing(call, **kwargs) -> None:
    """Call; an application-autoscaling "nothing registered" answer is not an error."""
    try:
        call(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ObjectNotFoundException" or str(error.get("Message", "")).startswith("No scal"):
            return
        raise


def _missing(name: str) -> RemoteState:
    return RemoteState(name=name, status=NOT_FOUND)


def container_for(endpoint) -> dict:
    """The PrimaryContainer: engine image, engine environment, S3 model attached uncompressed."""
    from apps.endpoints import engines, images
    from apps.endpoints.spec import DeploySpec, ModelFacts

    spec = DeploySpec.from_dict(endpoint.spec)
    model = ModelFacts(source_uri=endpoint.model_uri, name=endpoint.served_model_name)
    container = {
        "Image": images.image_uri(spec.engine, endpoint.region or settings.AWS_REGION, spec.engine_version or None),
        "Environment": engines.sagemaker_environment(spec, model),
    }
    if engines.is_s3_uri(endpoint.model_uri):
        container["ModelDataSource"] = engines.model_data_source(endpoint.model_uri)
    if spec.lora_adapters:
        container["AdditionalModelDataSources"] = engines.additional_model_data_sources(spec.lora_adapters)
    return container


# --- the backend -----------------------------------------------------------------------------

class SageMakerServing:
    name = "sagemaker"

    @property
    def sagemaker(self):
        return client("sagemaker")

    # deploy -------------------------------------------------------------------------------

    def deploy(self, endpoint) -> RemoteState:
        if not endpoint.remote_name:
            raise BackendError("The endpoint has no remote name yet.")
        if not settings.SAGEMAKER_ROLE_ARN:
            raise RemoteValidationError("SAGEMAKER_ROLE_ARN is not set: SageMaker needs an execution role to deploy.")
        name = endpoint.remote_name
        if not self._has_model(name):
            try:
                container = container_for(endpoint)
            except ValueError as exc:  # an image or option the tables reject: retrying will not help
                raise RemoteValidationError(str(exc)) from exc
            self._create(self.sagemaker.create_model, model_request(endpoint, container))
        if not self._has_config(name):
            self._create(self.sagemaker.create_endpoint_config, endpoint_config_request(endpoint))
        state = self.describe(endpoint)
        if state.status == NOT_FOUND:
            try:
                with aws_errors():
                    self.sagemaker.create_endpoint(**endpoint_request(endpoint))
            except RemoteConflict:
                pass  # created by a concurrent attempt: adopt it
            state = self.describe(endpoint)
        return RemoteState(
            name=state.name, status=state.status, failure_reason=state.failure_reason,
            extra={**state.extra, "invocation_url": invocation_url(settings.AWS_REGION, endpoint.remote_name),
                   "region": settings.AWS_REGION},
        )

    @staticmethod
    def _create(create, request: dict) -> None:
        try:
            with aws_errors():
                create(**request)
        except RemoteConflict:
            pass  # created by a concurrent attempt: adopt it

    def _has_model(self, name: str) -> bool:
        return self._exists(self.sagemaker.describe_model, ModelName=name)

    def _has_config(self, name: str) -> bool:
        return self._exists(self.sagemaker.describe_endpoint_config, EndpointConfigName=name)

    @staticmethod
    def _exists(describe, **kwargs) -> bool:
        try:
            with aws_errors():
                describe(**kwargs)
            return True
        except RemoteNotFound:
            return False

    # watch --------------------------------------------------------------------------------

    def describe(self, endpoint) -> RemoteState:
        try:
            with aws_errors():
                return state_from_description(self.sagemaker.describe_endpoint(EndpointName=endpoint.remote_name))
        except RemoteNotFound:
            return _missing(endpoint.remote_name)

    def list_statuses(self, name_contains: str = "") -> dict[str, str]:
        """Endpoints in the account and region (whose name contains `name_contains`): name -> status,
        one call per page of 100."""
        statuses: dict[str, str] = {}
        kwargs = {"NameContains": name_contains} if name_contains else {}
        with aws_errors():
            paginator = self.sagemaker.get_paginator("list_endpoints")
            for page in paginator.paginate(**kwargs, PaginationConfig={"PageSize": 100}):
                for summary in page.get("Endpoints", []):
                    statuses[summary["EndpointName"]] = summary["EndpointStatus"]
        return statuses

    def poll_many(self, endpoints: Iterable) -> dict[str, RemoteState]:
        """One bulk listing; a describe only for endpoints whose status changed (or vanished)."""
        endpoints = [e for e in endpoints if e.remote_name]
        if not endpoints:
            return {}
        # Our names share a prefix ("mh-"): list only those, not every endpoint of a shared account.
        prefixes = {e.remote_name.split("-", 1)[0] + "-" for e in endpoints if "-" in e.remote_name}
        listed = self.list_statuses(prefixes.pop() if len(prefixes) == 1 else "")
        states = {}
        for endpoint in endpoints:
            status = listed.get(endpoint.remote_name)
            if status is not None and status == endpoint.remote_status:
                states[endpoint.remote_name] = RemoteState(name=endpoint.remote_name, status=status)
            else:
                # New status, or absent from the listing (maybe listed a moment too early): ask directly.
                states[endpoint.remote_name] = self.describe(endpoint)
        return states

    # scale --------------------------------------------------------------------------------

    def update(self, endpoint) -> RemoteState:
        """Apply the desired instance count and autoscaling settings to a running endpoint."""
        state = self.describe(endpoint)
        if state.status == NOT_FOUND:
            raise RemoteNotFound(f"SageMaker has no endpoint named {endpoint.remote_name}.")
        autoscaling = endpoint.autoscaling
        with aws_errors():
            if autoscaling:
                self._register_autoscaling(endpoint.remote_name, autoscaling)
            else:
                self._deregister_autoscaling(endpoint.remote_name)
            desired = state.extra.get("desired_instance_count")
            if not autoscaling and desired != endpoint.instance_count:
                self.sagemaker.update_endpoint_weights_and_capacities(
                    EndpointName=endpoint.remote_name,
                    DesiredWeightsAndCapacities=[{"VariantName": VARIANT, "DesiredInstanceCount": endpoint.instance_count}],
                )
        return self.describe(endpoint)

    @property
    def autoscaling(self):
        return client("application-autoscaling")

    def _register_autoscaling(self, remote_name: str, autoscaling: dict) -> None:
        self.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=scalable_resource_id(remote_name),
            ScalableDimension=SCALABLE_DIMENSION,
            MinCapacity=int(autoscaling["min_instances"]), MaxCapacity=int(autoscaling["max_instances"]),
        )
        self.autoscaling.put_scaling_policy(**scaling_policy_request(remote_name, autoscaling))

    def _deregister_autoscaling(self, remote_name: str) -> None:
        """Remove the policy and the scalable target; nothing registered is fine."""
        target = {"ServiceNamespace": "sagemaker", "ResourceId": scalable_resource_id(remote_name),
                  "ScalableDimension": SCALABLE_DIMENSION}
        with aws_errors():
            registered = self.autoscaling.describe_scalable_targets(
                ServiceNamespace="sagemaker", ResourceIds=[target["ResourceId"]], ScalableDimension=SCALABLE_DIMENSION,
            ).get("ScalableTargets")
            if not registered:
                return
            _unless_missing(self.autoscaling.delete_scaling_policy, PolicyName=SCALING_POLICY, **target)
            _unless_missing(self.autoscaling.deregister_scalable_target, **target)

    # delete -------------------------------------------------------------------------------

    def delete(self, endpoint) -> None:
        name = endpoint.remote_name
        if not name:
            return
        self._deregister_autoscaling(name)
        for call, kwargs in (
            (self.sagemaker.delete_endpoint, {"EndpointName": name}),
            (self.sagemaker.delete_endpoint_config, {"EndpointConfigName": name}),
            (self.sagemaker.delete_model, {"ModelName": name}),
        ):
            try:
                with aws_errors():
                    call(**kwargs)
            except RemoteNotFound:
                pass

    # logs ---------------------------------------------------------------------------------

    def logs(self, endpoint, next_token: str | None = None, limit: int = 50) -> LogPage:
        """The last `limit` lines over the endpoint's most recent log streams (oldest first)."""
        logs = client("logs")
        group = log_group(endpoint.remote_name)
        lines: list[LogLine] = []
        try:
            with aws_errors():
                streams = logs.describe_log_streams(
                    logGroupName=group, orderBy="LastEventTime", descending=True, limit=5
                ).get("logStreams", [])
                for stream in streams:
                    events = logs.get_log_events(
                        logGroupName=group, logStreamName=stream["logStreamName"], limit=limit, startFromHead=False
                    ).get("events", [])
                    lines += [
                        LogLine(datetime.fromtimestamp(e["timestamp"] / 1000, tz=UTC), e["message"].rstrip("\n"),
                                stream["logStreamName"])
                        for e in events
                    ]
        except RemoteNotFound:
            return LogPage(lines=[], next_token=None)
        lines.sort(key=lambda line: line.timestamp)
        return LogPage(lines=lines[-limit:], next_token=None)

    # traffic ------------------------------------------------------------------------------

    def invoke(self, endpoint, payload: dict) -> dict:
        """One JSON request (from synchronous code: tasks, shells); the gateway uses the async runtime."""
        from . import runtime

        raw = runtime.invoke_endpoint_blocking(
            endpoint.remote_name, json.dumps(payload).encode(), region=endpoint.region or None
        )
        return json.loads(raw)

    def stream(self, endpoint, payload: dict):
        """The response stream's payload parts (SSE bytes from the engine), as an async iterator."""
        from . import runtime

        return runtime.invoke_endpoint_with_response_stream(
            endpoint.remote_name, json.dumps(payload).encode(), region=endpoint.region or None
        )
