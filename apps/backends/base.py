"""The contract between ModelHub's apps and the compute targets they drive.

The apps build frozen value objects once (a `TrainingSubmission`, a `Deployment`) and hand them to
the backend of the object's target, which they reach only through `apps.backends.registry`. A backend
answers with `RemoteState` in ModelHub's own vocabulary (`JobPhase`, `EndpointPhase`), keeping the
service's own words only for display (`remote_status`, `detail`). Vendor words and facts (status names,
log groups, not-found codes) stay inside the backend's folder. Backends never import the apps.

Every method raises `apps.backends.errors.BackendError` subclasses, never a vendor exception: a
`TransientError` is retried with backoff, any other error is terminal with its message as the reason.

A backend declares what it supports in `capabilities`; pages and the API read them to say what a
target can do, and the apps call an optional method only when its capability is declared.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol, runtime_checkable

from .errors import RemoteValidationError

API_KEY_SECRET = "api_key"  # Deployment.secrets key of the endpoint's API key (capability API_KEY)


class Capability(StrEnum):
    LOGS = "logs"  # logs(ref) -> LogPage
    METRICS = "metrics"  # read_text(uri) of a job's trainer log
    STOP = "stop"  # stop(ref)
    SECRETS = "secrets"  # keeps a submission's secrets in its own store; delete_secrets(ref)
    STORAGE = "storage"  # storage_target: the catalog store ("s3", "local") datasets are staged to before a run
    STREAMING_CHAT = "streaming_chat"  # stream(ref, body) / complete(ref, body)
    SCALING = "scaling"  # update(deployment, ref) changes instance counts
    AUTOSCALING = "autoscaling"  # update applies Deployment.autoscaling
    ADAPTERS = "adapters"  # serves LoRA adapters beside the base model
    SPOT_PRICES = "spot_prices"  # spot_price_history(instance_type, days) -> SpotPriceHistory (training)
    OUTPUTS = "outputs"  # list_outputs(root) / output_link(root, key) / open_output(root, key) (training)
    TRAINING_PLANS = "training_plans"  # runs in the reserved capacity of Resources.training_plan_arn (training)
    API_KEY = "api_key"  # callers must send a bearer key: the app makes one, Deployment.secrets[API_KEY_SECRET]


@dataclass(frozen=True)
class Readiness:
    """Whether a target can be used now and, if not, everything that is missing, at once."""

    usable: bool
    missing: tuple[str, ...] = ()  # "Set S3_BUCKET in .env: ...", one item per problem
    detail: str = ""


# --- what a backend reports ------------------------------------------------------------------------


class JobPhase(StrEnum):
    """Where a remote training run is, in ModelHub's words."""

    STARTING = "starting"  # accepted, getting machines, image or data ready
    RUNNING = "running"  # the trainer is running
    STOPPING = "stopping"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"
    NOT_FOUND = "not_found"  # the target has no run of that name (never created, or gone)
    UNKNOWN = "unknown"  # a status the backend does not recognise: recorded, never acted on


class EndpointPhase(StrEnum):
    CREATING = "creating"
    IN_SERVICE = "in_service"
    UPDATING = "updating"
    DELETING = "deleting"
    FAILED = "failed"
    NOT_FOUND = "not_found"
    MAINTENANCE = "maintenance"  # the target is working on it but it keeps serving (no status change)
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RemoteEvent:
    """One step the target reports in a run's history (e.g. SageMaker's secondary status transitions)."""

    status: str
    message: str = ""
    start: str | None = None  # ISO 8601
    end: str | None = None


@dataclass(frozen=True)
class RemoteState:
    """What a backend reports about one remote object (training run or endpoint)."""

    name: str
    phase: str  # a JobPhase or an EndpointPhase
    remote_status: str = ""  # the service's own word, for display and events only
    detail: str = ""  # the service's finer word (SageMaker's secondary status), display only
    message: str = ""
    failure_reason: str = ""
    remote_id: str = ""  # ARN, UID or PID: whatever identifies the object on the target
    started_at: datetime | None = None
    ended_at: datetime | None = None
    billable_seconds: int | None = None
    output_uri: str = ""
    invocation_url: str = ""
    region: str = ""
    adopted: bool = False  # submit/deploy found the object already there and took it over
    history: tuple[RemoteEvent, ...] | None = None  # None: this report carries no history
    instances: tuple[int, int] | None = None  # (current, desired) replicas or instances
    final_metrics: tuple[tuple[str, float], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        return self.phase in (JobPhase.SUCCEEDED, JobPhase.FAILED, JobPhase.STOPPED)


@dataclass(frozen=True)
class LogLine:
    timestamp: datetime
    message: str
    stream: str = ""


@dataclass(frozen=True)
class LogPage:
    lines: list[LogLine]
    next_token: str | None  # pass back to continue after the last line; None when there is nothing yet
    source: str = ""  # where the lines come from, in words (e.g. "CloudWatch <log group>"), for pages and events


# --- training ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resources:
    instance_type: str
    instance_count: int = 1
    volume_size_gb: int = 100
    use_spot: bool = False
    max_run_seconds: int = 86400
    max_wait_seconds: int | None = None
    training_plan_arn: str | None = None  # reserved capacity to run in (TRAINING_PLANS targets only)


@dataclass(frozen=True)
class JobLocations:
    """Where one job's files live on its target's storage (URIs or paths the target understands)."""

    root: str  # the job's prefix; every other location is inside it
    config: str  # the rendered files are put here before the run starts
    checkpoints: str
    output: str
    trainer_log: str  # where the trainer's progress log is synced during the run


@dataclass(frozen=True)
class StagedDataset:
    """A catalog dataset the run reads, and where the target has (or will have) a copy of it."""

    dataset_id: int
    name: str
    location: str


@dataclass(frozen=True)
class TrainingSubmission:
    """Everything a backend needs to start one training run. Built once per submit by the jobs app."""

    job_id: int
    remote_name: str
    owner: str
    job_type: str
    tool: str  # "llamafactory" or "easyr1": which image / runner executes `files`
    resources: Resources
    locations: JobLocations
    environment: Mapping[str, str]  # non-secret container environment, already complete
    files: Mapping[str, str]  # rendered bundle: file name -> text (YAML, dataset_info.json, ...)
    spec: Mapping[str, Any]  # the validated spec, for backends that render their own runner config
    metric_definitions: tuple[Mapping[str, str], ...] = ()
    datasets: tuple[StagedDataset, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # values: never log or store them
    execution_role: str = ""  # the IAM role the run assumes, where the target has one; empty: its default

    def __repr__(self) -> str:  # a submission may be logged by a failing task: keep secrets out of it
        return f"TrainingSubmission(job_id={self.job_id}, remote_name={self.remote_name!r}, tool={self.tool!r})"


@dataclass(frozen=True)
class JobRef:
    """How a backend finds a run it already has (everything it needs after submit)."""

    job_id: int
    remote_name: str
    remote_id: str = ""
    locations: JobLocations | None = None
    last_status: str = ""  # the remote_status last recorded, so bulk polls report only changes
    checked_since: datetime | None = None  # poll for changes after this time


@dataclass(frozen=True)
class ZoneSpotPrices:
    """One availability zone's spot market price (USD per instance-hour) over a period."""

    zone: str
    current: float  # the price in effect at the end of the period
    low: float
    high: float
    mean: float  # weighted by how long each price held
    changes: int  # price changes seen in the period

    @property
    def volatility(self) -> float:
        """(high - low) / low: how far the price moved in the period (not how often capacity is reclaimed)."""
        return (self.high - self.low) / self.low if self.low else 0.0


@dataclass(frozen=True)
class SpotPriceHistory:
    """A spot market's recent prices for the machine behind one instance type (capability SPOT_PRICES)."""

    instance_type: str  # as the job names it (ml.g5.12xlarge)
    market: str  # what was read, in words ("EC2 spot, g5.12xlarge, Linux/UNIX")
    region: str
    days: int
    zones: tuple[ZoneSpotPrices, ...]  # cheapest current price first; empty when the market has no prices

    @property
    def cheapest(self) -> ZoneSpotPrices | None:
        return self.zones[0] if self.zones else None


@dataclass(frozen=True)
class StoredFile:
    """One file under a job's root (capability OUTPUTS)."""

    key: str  # path below the root, "/"-separated ("checkpoints/checkpoint-500/adapter_model.safetensors")
    size: int  # bytes
    modified: datetime | None = None


@dataclass(frozen=True)
class OutputListing:
    root: str  # the listed location (a job's root URI)
    files: tuple[StoredFile, ...]  # by key
    truncated: bool = False  # more files exist than were listed

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)


@runtime_checkable
class TrainingBackend(Protocol):
    name: ClassVar[str]
    label: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]

    def readiness(self) -> Readiness: ...

    def job_root(self, remote_name: str) -> str:
        """The storage prefix for a new job's files (raises RemoteValidationError if none is configured)."""

    def submit(self, submission: TrainingSubmission) -> RemoteState:
        """Create the remote run, or adopt the one that already has its name."""

    def describe(self, ref: JobRef) -> RemoteState:
        """The run's full state, with its history; phase NOT_FOUND when the target has no such run."""

    def poll_many(self, refs: Iterable[JobRef]) -> dict[str, RemoteState]:
        """States of the runs that changed since their `checked_since`, keyed by remote name, in as few
        calls as the service allows. Runs absent from the result did not change (or are unknown)."""

    # Optional, by capability ----------------------------------------------------------------------
    # STOP:    stop(ref) -> None; a run that does not exist (yet, or any more) is not an error.
    # LOGS:    logs(ref, next_token=None, limit=500) -> LogPage
    # METRICS: read_text(uri) -> str ("" when absent)
    # SECRETS: delete_secrets(ref) -> bool
    # STORAGE: storage_target: str, the catalog store its runs read datasets from (apps/catalog/staging.py
    #          copies them there before submit)
    # SPOT_PRICES: spot_price_history(instance_type, days=7) -> SpotPriceHistory
    # OUTPUTS: list_outputs(root: str) -> OutputListing; output_link(root, key) -> str | None (a URL the
    #          browser downloads from directly, None when the app must stream open_output(root, key))


# --- serving -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Autoscaling:
    min_instances: int
    max_instances: int
    target_invocations_per_instance: int
    scale_in_cooldown: int = 300
    scale_out_cooldown: int = 60


@dataclass(frozen=True)
class ModelSource:
    uri: str  # s3://..., hf://org/name or a plain repo id, file:// or a local path, fsx://...
    adapters: tuple[tuple[str, str], ...] = ()  # (served adapter name, uri)


@dataclass(frozen=True)
class Deployment:
    """Everything a backend needs to create or update one endpoint. Built once by the endpoints app."""

    endpoint_id: int
    remote_name: str
    owner: str
    display_name: str
    engine: str  # "vllm", "sglang", "lmi", "byoc"
    engine_version: str
    served_model_name: str
    model: ModelSource
    instance_type: str
    instance_count: int
    environment: Mapping[str, str]  # the engine's container environment (SM_VLLM_* ...), already rendered
    # The engine's command line, for targets that start the server themselves; such a target sets the
    # flags that say where the engine listens, reads the model and what it serves it as to its own values.
    argv: tuple[str, ...]
    image: str = ""  # an explicit image; empty: the backend's default for engine and version
    autoscaling: Autoscaling | None = None
    options: Mapping[str, Any] = field(default_factory=dict)  # target-specific, validated by the app
    tags: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # e.g. HF_TOKEN, the endpoint API key
    execution_role: str = ""  # the IAM role the endpoint runs as, where the target has one; empty: its default

    def __repr__(self) -> str:
        return f"Deployment(endpoint_id={self.endpoint_id}, remote_name={self.remote_name!r}, engine={self.engine!r})"


@dataclass(frozen=True)
class EndpointRef:
    """How a backend finds (and talks to) an endpoint it already has."""

    endpoint_id: int
    remote_name: str
    region: str = ""
    invocation_url: str = ""
    last_status: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    api_key: str = field(default="", repr=False)


@dataclass(frozen=True)
class EngineImage:
    """The container image a serving target runs for one engine and version."""

    uri: str
    version: str  # the engine version it serves ('' when an operator's own image does not say)
    custom: bool = False  # an image the operator configured, not the target's default for the engine
    needs: Mapping[str, str] = field(default_factory=dict)  # Deployment.options the image requires


class ImageUnavailable(RemoteValidationError):
    """No image for this engine, version or region; `field` names the setting at fault."""

    def __init__(self, message: str, *, field: str = "engine_version", supported: Iterable[str] = ()):
        super().__init__(message)
        self.field = field
        self.supported = tuple(supported)


@runtime_checkable
class ServingBackend(Protocol):
    name: ClassVar[str]
    label: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]

    def readiness(self) -> Readiness: ...

    def engine_image(self, engine: str, version: str = "", region: str = "") -> EngineImage:
        """The image `deploy` would run (the default version when `version` is empty); raises
        ImageUnavailable, naming the field at fault and what is supported, when there is none."""

    def deploy(self, deployment: Deployment) -> RemoteState:
        """Create (or adopt) everything the endpoint needs; returns once creation has started."""

    def describe(self, ref: EndpointRef) -> RemoteState: ...

    def poll_many(self, refs: Iterable[EndpointRef]) -> dict[str, RemoteState]: ...

    def delete(self, ref: EndpointRef) -> None:
        """Remove every remote piece; pieces already gone are not an error."""

    # Optional, by capability ----------------------------------------------------------------------
    # SCALING/AUTOSCALING: update(deployment, ref) -> RemoteState
    # LOGS:           logs(ref, next_token=None, limit=50) -> LogPage
    # STREAMING_CHAT: await stream(ref, body: bytes) -> AsyncIterator[bytes]: once the request is accepted,
    #                 the reply's bytes as the engine sends them (SSE, or JSON lines for LMI); closing the
    #                 iterator closes the connection. await complete(ref, body: bytes) -> bytes (the JSON reply).
    #                 Both raise apps.backends.upstream_errors.UpstreamError subclasses.


# --- clusters ----------------------------------------------------------------------------------------


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
    def from_dict(cls, data: Mapping) -> InstanceCapacity:
        return cls(**{k: data.get(k) for k in (
            "instance_type", "nodes", "gpus_per_node", "cpus_per_node", "memory_gib_per_node", "free_gpus")})


@dataclass(frozen=True)
class ClusterFacts:
    """What a deployment to a registered cluster is checked against."""

    region: str
    instances: tuple[InstanceCapacity, ...] = ()
    tiered_storage: bool = False  # the cluster has tiered storage (an L2 'tieredstorage' KV cache needs it)
    tls_certificate_s3_uri: str = ""  # where the cluster's operator writes endpoints' TLS certificates

    def capacity(self, instance_type: str) -> InstanceCapacity | None:
        return next((i for i in self.instances if i.instance_type == instance_type), None)


@dataclass(frozen=True)
class ClusterConnection:
    """How to reach one registered cluster's Kubernetes API: an uploaded kubeconfig, or an EKS cluster
    (its API endpoint and CA are looked up when empty; tokens come from `token_provider` when given, else
    from the AWS credentials, or those of `role_arn`)."""

    cluster_id: int
    name: str
    region: str
    facts: ClusterFacts
    eks_cluster_name: str = ""
    role_arn: str = ""
    endpoint: str = ""  # https://<API server>
    ca_data: str = ""  # base64 PEM
    token_provider: Callable[[], tuple[str, float]] | None = field(default=None, repr=False)  # (token, expires_at)
    kubeconfig: str = field(default="", repr=False)  # an uploaded kubeconfig's text
    fingerprint: str = ""  # changes when the connection settings change (a cached client is rebuilt)


@dataclass(frozen=True)
class InstanceGroup:
    name: str
    instance_type: str
    current: int
    target: int
    status: str = ""


@dataclass(frozen=True)
class ClusterInspection:
    """What one look at a cluster found. An unreachable cluster is `reachable=False` with the reason."""

    reachable: bool
    reason: str = ""
    kubernetes_version: str = ""
    namespaces: tuple[str, ...] = ()
    operator_installed: bool = False  # the serving operator's resource definition is installed
    instances: tuple[InstanceCapacity, ...] = ()
    instance_groups: tuple[InstanceGroup, ...] = ()
    remote_status: str = ""  # the cluster service's own status word (display only)
    tiered_storage: bool | None = None  # None: not asked
    api_endpoint: str = ""  # looked up for an EKS cluster registered by name, to keep on its row
    ca_data: str = ""
    warnings: tuple[str, ...] = ()


@runtime_checkable
class ClusterBackend(Protocol):
    """Registered clusters of one kind (settings.CLUSTER_BACKENDS): looking at them, and checking a
    deployment against what they have before anything is created."""

    name: ClassVar[str]
    label: ClassVar[str]
    # Choices of the deployment options the target declares (option -> allowed values), for forms.
    option_choices: ClassVar[Mapping[str, tuple[str, ...]]]

    def inspect(self, connection: ClusterConnection, *, remote_cluster: str = "") -> ClusterInspection:
        """Version, namespaces, capacity, the operator; with `remote_cluster` (the cluster service's
        name or ARN) its instance groups too. Never raises for an unreachable cluster."""

    def forget(self, cluster_id: int) -> None:
        """Drop what is cached for a cluster (its settings changed, or it is gone)."""

    def deploy_problems(self, deployment: Deployment, facts: ClusterFacts) -> dict[str, list[str]]:
        """Field errors (option or Deployment field -> messages) the cluster would reject; {} when none.
        The key "cluster" means the cluster as a whole."""


def supports(backend, capability: Capability) -> bool:
    return capability in getattr(backend, "capabilities", frozenset())


ChatStream = AsyncIterator[bytes]
