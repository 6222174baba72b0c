"""SageMaker real-time endpoints: deploy, watch in bulk, scale, delete, logs and chat.

One SageMaker model, endpoint config and endpoint per ModelHub endpoint, all three named
`Deployment.remote_name`. Every create first describes and adopts what already has the name, and
treats a duplicate-name error as "adopt", so a retried or twice-delivered deploy never makes a
second copy. Deletion removes the autoscaling registration, endpoint, config and model and
tolerates any of them being gone already. SageMaker's EndpointStatus words are mapped onto
`EndpointPhase` here and nowhere else.
"""

from collections.abc import Iterable
from datetime import UTC, datetime

import botocore.session
from botocore.exceptions import ClientError
from django.conf import settings

from apps.backends.aws import aws_errors, client
from apps.backends.base import (
    Autoscaling,
    Capability,
    Deployment,
    EndpointPhase,
    EndpointRef,
    EngineImage,
    LogLine,
    LogPage,
    Readiness,
    RemoteState,
)
from apps.backends.errors import BackendError, RemoteConflict, RemoteNotFound, RemoteValidationError

from . import images, runtime

VARIANT = "AllTraffic"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SCALING_POLICY = "modelhub-invocations-per-instance"

# Every EndpointStatus value the service documents (botocore 1.44.8), as ModelHub's phase.
PHASES = {
    "Creating": EndpointPhase.CREATING,
    "InService": EndpointPhase.IN_SERVICE,
    "Updating": EndpointPhase.UPDATING,
    "RollingBack": EndpointPhase.UPDATING,
    "SystemUpdating": EndpointPhase.MAINTENANCE,  # AWS maintenance; the endpoint keeps serving
    "Deleting": EndpointPhase.DELETING,
    "Failed": EndpointPhase.FAILED,
    "OutOfService": EndpointPhase.FAILED,
    "UpdateRollbackFailed": EndpointPhase.FAILED,
}
ENDPOINT_STATUSES = frozenset(PHASES)

# What to say when the service gives no FailureReason, or about a status that is not a failure.
MESSAGES = {
    "OutOfService": "SageMaker reports the endpoint out of service.",
    "UpdateRollbackFailed": "An update failed and SageMaker could not roll it back.",
    "SystemUpdating": "SageMaker is applying maintenance (SystemUpdating).",
}

# Option keys of Deployment.options -> ProductionVariant fields.
VARIANT_OPTIONS = (
    ("ContainerStartupHealthCheckTimeoutInSeconds", "container_startup_health_check_timeout", int),
    ("ModelDataDownloadTimeoutInSeconds", "model_data_download_timeout", int),
    ("InferenceAmiVersion", "inference_ami_version", str),
)


def log_group(remote_name: str) -> str:
    return f"/aws/sagemaker/Endpoints/{remote_name}"


def invocation_url(region: str, remote_name: str) -> str:
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://runtime.sagemaker.{region}.{domain}/endpoints/{remote_name}/invocations"


def scalable_resource_id(remote_name: str) -> str:
    return f"endpoint/{remote_name}/variant/{VARIANT}"


def _tags(deployment: Deployment) -> list[dict]:
    return [
        {"Key": "modelhub:endpoint-id", "Value": str(deployment.endpoint_id)},
        {"Key": "modelhub:endpoint-name", "Value": deployment.display_name},
        {"Key": "modelhub:owner", "Value": deployment.owner},
    ]


# --- request shapes (pure) -------------------------------------------------------------------

def is_s3_uri(uri: str) -> bool:
    return str(uri).startswith("s3://")


def s3_prefix_source(uri: str) -> dict:
    """An uncompressed S3 prefix, as ModelDataSource and AdditionalModelDataSources take it."""
    if not is_s3_uri(uri):
        raise RemoteValidationError(f"SageMaker mounts model data from S3 only, not {uri!r}.")
    return {"S3Uri": uri if uri.endswith("/") else uri + "/", "S3DataType": "S3Prefix", "CompressionType": "None"}


def container(deployment: Deployment, image: str) -> dict:
    """The PrimaryContainer: the engine image and environment, an S3 model attached uncompressed at
    /opt/ml/model and each LoRA adapter as its own channel (a repo id is loaded by the engine itself)."""
    spec = {"Image": image, "Environment": {**deployment.environment, **deployment.secrets}}
    if is_s3_uri(deployment.model.uri):
        spec["ModelDataSource"] = {"S3DataSource": s3_prefix_source(deployment.model.uri)}
    if deployment.model.adapters:
        spec["AdditionalModelDataSources"] = [
            {"ChannelName": name, "S3DataSource": s3_prefix_source(uri)} for name, uri in deployment.model.adapters
        ]
    return spec


def model_request(deployment: Deployment, primary_container: dict) -> dict:
    return {
        "ModelName": deployment.remote_name,
        "ExecutionRoleArn": deployment.execution_role or settings.SAGEMAKER_ROLE_ARN,  # the owner's group role
        "PrimaryContainer": primary_container,
        "Tags": _tags(deployment),
    }


def endpoint_config_request(deployment: Deployment) -> dict:
    variant = {
        "VariantName": VARIANT,
        "ModelName": deployment.remote_name,
        "InstanceType": deployment.instance_type,
        "InitialInstanceCount": deployment.instance_count,
        "InitialVariantWeight": 1.0,
    }
    for key, option, kind in VARIANT_OPTIONS:
        if deployment.options.get(option):
            variant[key] = kind(deployment.options[option])
    return {"EndpointConfigName": deployment.remote_name, "ProductionVariants": [variant], "Tags": _tags(deployment)}


def endpoint_request(deployment: Deployment) -> dict:
    return {"EndpointName": deployment.remote_name, "EndpointConfigName": deployment.remote_name,
            "Tags": _tags(deployment)}


def scaling_policy_request(remote_name: str, autoscaling: Autoscaling) -> dict:
    return {
        "PolicyName": SCALING_POLICY,
        "ServiceNamespace": "sagemaker",
        "ResourceId": scalable_resource_id(remote_name),
        "ScalableDimension": SCALABLE_DIMENSION,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": float(autoscaling.target_invocations_per_instance),
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            "ScaleInCooldown": int(autoscaling.scale_in_cooldown),
            "ScaleOutCooldown": int(autoscaling.scale_out_cooldown),
        },
    }


def state_for(name: str, status: str, failure_reason: str = "", **fields) -> RemoteState:
    """A RemoteState for an EndpointStatus word: its phase, and a reason when the service gave none."""
    phase = PHASES.get(status, EndpointPhase.UNKNOWN)
    if phase == EndpointPhase.FAILED:
        failure_reason = failure_reason or MESSAGES.get(status) or f"SageMaker reports {status}."
    return RemoteState(name=name, phase=phase, remote_status=status, failure_reason=failure_reason,
                       message=MESSAGES.get(status, "") if phase != EndpointPhase.FAILED else "", **fields)


def state_from_description(description: dict) -> RemoteState:
    variants = description.get("ProductionVariants") or []
    current = sum(v.get("CurrentInstanceCount") or 0 for v in variants)
    desired = sum(v.get("DesiredInstanceCount") or 0 for v in variants)
    return state_for(
        description["EndpointName"], description["EndpointStatus"], description.get("FailureReason", "") or "",
        remote_id=description.get("EndpointArn", ""), instances=(current, desired),
        extra={"last_modified": _iso(description.get("LastModifiedTime"))},
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
    return RemoteState(name=name, phase=EndpointPhase.NOT_FOUND,
                       message="SageMaker has no endpoint of this name (deleted outside ModelHub?).")


# --- the backend -----------------------------------------------------------------------------

class SageMakerServing:
    name = "sagemaker"
    label = "SageMaker"
    capabilities = frozenset({Capability.LOGS, Capability.SCALING, Capability.AUTOSCALING,
                              Capability.STREAMING_CHAT, Capability.ADAPTERS})

    @property
    def sagemaker(self):
        return client("sagemaker")

    def readiness(self) -> Readiness:
        missing = []
        if not settings.SAGEMAKER_ROLE_ARN:
            missing.append("Set SAGEMAKER_ROLE_ARN: the IAM role SageMaker endpoints run as.")
        if not settings.AWS_REGION:
            missing.append("Set AWS_REGION: the region endpoints are created in.")
        if botocore.session.get_session().get_credentials() is None:
            missing.append("Give ModelHub AWS credentials (environment, profile or instance role).")
        return Readiness(usable=not missing, missing=tuple(missing))

    def engine_image(self, engine: str, version: str = "", region: str = "") -> EngineImage:
        return images.engine_image(engine, version, region or settings.AWS_REGION)

    # deploy -------------------------------------------------------------------------------

    def deploy(self, deployment: Deployment) -> RemoteState:
        if not deployment.remote_name:
            raise BackendError("The endpoint has no remote name yet.")
        if not (deployment.execution_role or settings.SAGEMAKER_ROLE_ARN):
            raise RemoteValidationError("SAGEMAKER_ROLE_ARN is not set: SageMaker needs an execution role to deploy.")
        name = deployment.remote_name
        ref = EndpointRef(endpoint_id=deployment.endpoint_id, remote_name=name)
        if not self._has_model(name):
            image = deployment.image or self.engine_image(deployment.engine, deployment.engine_version).uri
            self._create(self.sagemaker.create_model, model_request(deployment, container(deployment, image)))
        if not self._has_config(name):
            self._create(self.sagemaker.create_endpoint_config, endpoint_config_request(deployment))
        state = self.describe(ref)
        adopted = state.phase != EndpointPhase.NOT_FOUND
        if not adopted:
            try:
                with aws_errors():
                    self.sagemaker.create_endpoint(**endpoint_request(deployment))
            except RemoteConflict:
                adopted = True  # created by a concurrent attempt: adopt it
            state = self.describe(ref)
        return RemoteState(
            name=state.name, phase=state.phase, remote_status=state.remote_status, message=state.message,
            failure_reason=state.failure_reason, remote_id=state.remote_id, instances=state.instances,
            extra=state.extra, adopted=adopted, region=settings.AWS_REGION,
            invocation_url=invocation_url(settings.AWS_REGION, name),
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

    def describe(self, ref: EndpointRef) -> RemoteState:
        try:
            with aws_errors():
                return state_from_description(self.sagemaker.describe_endpoint(EndpointName=ref.remote_name))
        except RemoteNotFound:
            return _missing(ref.remote_name)

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

    def poll_many(self, refs: Iterable[EndpointRef]) -> dict[str, RemoteState]:
        """One bulk listing; a describe only for endpoints whose status changed (or vanished)."""
        refs = [r for r in refs if r.remote_name]
        if not refs:
            return {}
        # Our names share a prefix ("mh-"): list only those, not every endpoint of a shared account.
        prefixes = {r.remote_name.split("-", 1)[0] + "-" for r in refs if "-" in r.remote_name}
        listed = self.list_statuses(prefixes.pop() if len(prefixes) == 1 else "")
        states = {}
        for ref in refs:
            status = listed.get(ref.remote_name)
            if status is not None and status == ref.last_status:
                states[ref.remote_name] = state_for(ref.remote_name, status)
            else:
                # New status, or absent from the listing (maybe listed a moment too early): ask directly.
                states[ref.remote_name] = self.describe(ref)
        return states

    # scale --------------------------------------------------------------------------------

    def update(self, deployment: Deployment, ref: EndpointRef) -> RemoteState:
        """Apply the desired instance count and autoscaling settings to a running endpoint."""
        state = self.describe(ref)
        if state.phase == EndpointPhase.NOT_FOUND:
            raise RemoteNotFound(f"SageMaker has no endpoint named {ref.remote_name}.")
        autoscaling = deployment.autoscaling
        with aws_errors():
            if autoscaling:
                self._register_autoscaling(ref.remote_name, autoscaling)
            else:
                self._deregister_autoscaling(ref.remote_name)
            desired = state.instances[1] if state.instances else None
            if not autoscaling and desired != deployment.instance_count:
                self.sagemaker.update_endpoint_weights_and_capacities(
                    EndpointName=ref.remote_name,
                    DesiredWeightsAndCapacities=[{"VariantName": VARIANT,
                                                  "DesiredInstanceCount": deployment.instance_count}],
                )
        return self.describe(ref)

    @property
    def autoscaling(self):
        return client("application-autoscaling")

    def _register_autoscaling(self, remote_name: str, autoscaling: Autoscaling) -> None:
        self.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=scalable_resource_id(remote_name),
            ScalableDimension=SCALABLE_DIMENSION,
            MinCapacity=int(autoscaling.min_instances), MaxCapacity=int(autoscaling.max_instances),
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

    def delete(self, ref: EndpointRef) -> None:
        name = ref.remote_name
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

    def logs(self, ref: EndpointRef, next_token: str | None = None, limit: int = 50) -> LogPage:
        """The last `limit` lines over the endpoint's most recent log streams (oldest first)."""
        logs = client("logs")
        group = log_group(ref.remote_name)
        source = f"CloudWatch {group}"
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
            return LogPage(lines=[], next_token=None, source=source)
        lines.sort(key=lambda line: line.timestamp)
        return LogPage(lines=lines[-limit:], next_token=None, source=source)

    # chat ---------------------------------------------------------------------------------

    async def stream(self, ref: EndpointRef, body: bytes):
        """InvokeEndpointWithResponseStream: the payload parts' bytes (the engine's SSE) as they arrive."""
        return runtime.invoke_endpoint_with_response_stream(ref.remote_name, body, region=ref.region or None)

    async def complete(self, ref: EndpointRef, body: bytes) -> bytes:
        return await runtime.invoke_endpoint(ref.remote_name, body, region=ref.region or None)
