"""SageMaker training jobs: submit (or adopt), bulk poll, describe, stop, logs and trainer-log reads.

The request is built by a pure function (`training_job_request`) from a `TrainingSubmission` and the
settings, so tests assert on exactly what would be sent. Submitting describes first and adopts a job
that already has the name: a retried or re-dispatched submit never creates a second job (AWS answers a
duplicate create with ResourceInUse, which is adopted too; moto silently overwrites instead).
The user's secrets go into the job's Secrets Manager secret (secrets.py), never into the request.

SageMaker's words stay here: `job_phase` maps TrainingJobStatus / SecondaryStatus onto `JobPhase`,
and the words themselves travel only as `remote_status` / `detail` for display.
"""

import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from functools import cache
from typing import Any

import boto3
from django.conf import settings

from .. import storage
from ..aws import aws_errors, client
from ..base import (
    Capability,
    JobLocations,
    JobPhase,
    JobRef,
    LogPage,
    Readiness,
    RemoteEvent,
    RemoteState,
    Resources,
    TrainingSubmission,
)
from ..errors import RemoteConflict, RemoteNotFound, RemoteValidationError
from ..storage_listing import StoredOutputs
from . import logs as cloudwatch
from .pricing import SpotPrices
from .secrets import ENV_SECRETS_ARN, JobSecrets

logger = logging.getLogger(__name__)

LIST_PAGE_SIZE = 100  # the API's maximum
ENV_VALUE_LIMIT = 512  # botocore: training Environment values ≤ 512 characters, ≤ 100 entries
ENV_ENTRIES_LIMIT = 100
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"  # SageMaker syncs it with CheckpointConfig.S3Uri
# What the container learns from SageMaker's side of the environment (the entry point reads them).
ENV_CHECKPOINT_DIR = "MODELHUB_CHECKPOINT_DIR"
ENV_REGION = "MODELHUB_REGION"
# Jobs modified this long before the last poll are listed again (clock skew, eventual consistency).
POLL_OVERLAP = timedelta(minutes=5)
IMAGE_SETTINGS = {"llamafactory": "TRAINING_IMAGE_LLAMAFACTORY", "easyr1": "TRAINING_IMAGE_EASYR1"}

# TrainingJobStatus / SecondaryStatus -> JobPhase --------------------------------------------------

# Secondary statuses while a job is InProgress: still getting ready, or training.
STARTING_SECONDARY = frozenset({
    "Starting", "Pending", "LaunchingMLInstances", "PreparingTrainingStack", "Downloading",
    "DownloadingTrainingImage", "Interrupted",
})
RUNNING_SECONDARY = frozenset({"Training", "Uploading", "Updating", "Restarting"})
TERMINAL_STATUS = {"Completed": JobPhase.SUCCEEDED, "Failed": JobPhase.FAILED, "Stopped": JobPhase.STOPPED}
ACTIVE_STATUS = frozenset({"InProgress", "Pending"})


def job_phase(status: str, secondary: str = "") -> JobPhase:
    """ModelHub's phase for SageMaker's (TrainingJobStatus, SecondaryStatus)."""
    if status in TERMINAL_STATUS:
        return TERMINAL_STATUS[status]
    if status == "Stopping":
        return JobPhase.STOPPING
    if status in ACTIVE_STATUS:
        if secondary in RUNNING_SECONDARY:
            return JobPhase.RUNNING
        if secondary and secondary not in STARTING_SECONDARY:
            logger.warning("Unrecognised SageMaker secondary status %r: counted as starting", secondary)
        return JobPhase.STARTING
    return JobPhase.UNKNOWN


# The request ----------------------------------------------------------------------------------------


def training_image(tool: str) -> str:
    setting = IMAGE_SETTINGS.get(tool, IMAGE_SETTINGS["llamafactory"])
    image = getattr(settings, setting, "")
    if not image:
        raise RemoteValidationError(f"{setting} is not configured: set it to the training image's ECR URI.")
    return image


def container_environment(submission: TrainingSubmission) -> dict[str, str]:
    """The submission's environment plus what SageMaker's side adds. SageMaker keeps it with the job,
    readable by whoever may DescribeTrainingJob, so it never holds a secret value (only the ARN of the
    job's secret, added at submit)."""
    env = {**submission.environment, ENV_CHECKPOINT_DIR: CHECKPOINT_LOCAL_PATH, ENV_REGION: settings.AWS_REGION}
    too_long = [key for key, value in env.items() if len(value) > ENV_VALUE_LIMIT or len(key) > ENV_VALUE_LIMIT]
    if too_long or len(env) > ENV_ENTRIES_LIMIT:
        raise RemoteValidationError(
            f"Container environment values must be at most {ENV_VALUE_LIMIT} characters: {', '.join(too_long)}."
        )
    return env


def resource_config(resources: Resources) -> dict[str, Any]:
    """ResourceConfig: the instances, and the training plan whose reserved capacity they come from."""
    config: dict[str, Any] = {
        "InstanceType": resources.instance_type,
        "InstanceCount": int(resources.instance_count),
        "VolumeSizeInGB": int(resources.volume_size_gb),
    }
    if resources.training_plan_arn:
        config["TrainingPlanArn"] = resources.training_plan_arn
    return config


def training_job_request(submission: TrainingSubmission, environment: Mapping[str, str]) -> dict[str, Any]:
    """The CreateTrainingJob request for a submission (raises RemoteValidationError for missing settings)."""
    role = submission.execution_role or settings.SAGEMAKER_ROLE_ARN  # the owner's group role, else the default
    if not role:
        raise RemoteValidationError("SAGEMAKER_ROLE_ARN is not configured: SageMaker needs an execution role.")
    resources, locations = submission.resources, submission.locations
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": resources.max_run_seconds}
    if resources.use_spot:
        stopping["MaxWaitTimeInSeconds"] = max(resources.max_run_seconds, resources.max_wait_seconds or 0)
    return {
        "TrainingJobName": submission.remote_name,
        "RoleArn": role,
        "AlgorithmSpecification": {
            "TrainingImage": training_image(submission.tool),
            "TrainingInputMode": "File",
            "MetricDefinitions": [dict(definition) for definition in submission.metric_definitions],
        },
        "ResourceConfig": resource_config(resources),
        "OutputDataConfig": {"S3OutputPath": locations.output},
        "CheckpointConfig": {"S3Uri": locations.checkpoints, "LocalPath": CHECKPOINT_LOCAL_PATH},
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": bool(resources.use_spot),
        "Environment": dict(environment),
        "Tags": [{"Key": key, "Value": value} for key, value in submission.tags.items()],
    }


# The answers ----------------------------------------------------------------------------------------


def _summary_state(summary: dict) -> RemoteState:
    status, secondary = summary.get("TrainingJobStatus", ""), summary.get("SecondaryStatus", "")
    return RemoteState(
        name=summary["TrainingJobName"], phase=job_phase(status, secondary), remote_status=status, detail=secondary,
        remote_id=summary.get("TrainingJobArn", ""), ended_at=summary.get("TrainingEndTime"),
    )


def _event(transition: dict) -> RemoteEvent:
    return RemoteEvent(
        status=transition.get("Status", ""), message=transition.get("StatusMessage", ""),
        start=transition["StartTime"].isoformat() if transition.get("StartTime") else None,
        end=transition["EndTime"].isoformat() if transition.get("EndTime") else None,
    )


def _described_state(description: dict, *, adopted: bool = False) -> RemoteState:
    history = tuple(_event(t) for t in description.get("SecondaryStatusTransitions", []))
    status, secondary = description.get("TrainingJobStatus", ""), description.get("SecondaryStatus", "")
    return RemoteState(
        name=description["TrainingJobName"],
        phase=job_phase(status, secondary),
        remote_status=status,
        detail=secondary,
        message=history[-1].message if history else "",
        failure_reason=description.get("FailureReason", ""),
        remote_id=description.get("TrainingJobArn", ""),
        started_at=description.get("TrainingStartTime"),
        ended_at=description.get("TrainingEndTime"),
        billable_seconds=description.get("BillableTimeInSeconds"),
        output_uri=(description.get("ModelArtifacts") or {}).get("S3ModelArtifacts", ""),
        region=settings.AWS_REGION,
        adopted=adopted,
        history=history,
        final_metrics=tuple((m.get("MetricName", ""), m.get("Value")) for m in description.get("FinalMetricDataList", [])),
    )


@cache
def credentials_found() -> bool:
    """Whether boto3's credential chain finds credentials (looked up once per process: the chain may ask the
    instance metadata service, which is slow where there is none)."""
    return boto3.session.Session().get_credentials() is not None


def _s3_location(uri: str) -> tuple[str, str]:
    try:
        return storage.split_s3(uri)
    except storage.StorageError as exc:
        raise RemoteValidationError(str(exc)) from None


class SageMakerTraining(SpotPrices, StoredOutputs):
    name = "sagemaker"
    label = "Amazon SageMaker"
    capabilities = frozenset({Capability.LOGS, Capability.METRICS, Capability.STOP, Capability.SECRETS,
                              Capability.STORAGE, Capability.TRAINING_PLANS}) | SpotPrices.capabilities | StoredOutputs.capabilities
    storage_target = "s3"  # where the catalog stages datasets for this backend

    def __init__(self, sagemaker=None, s3=None, logs=None, secretsmanager=None):
        self._sagemaker, self._s3, self._logs = sagemaker, s3, logs
        self.secrets = JobSecrets(secretsmanager)

    @property
    def sagemaker(self):
        return self._sagemaker or client("sagemaker")

    @property
    def s3(self):
        return self._s3 or client("s3")

    @property
    def logs_client(self):
        return self._logs or client("logs")

    # Configuration ------------------------------------------------------------------------------------

    def readiness(self) -> Readiness:
        """Everything missing to run training jobs, at once (no AWS request: credentials are only looked up)."""
        missing = []
        if not settings.S3_BUCKET:
            missing.append("Set S3_BUCKET: jobs keep their configuration, checkpoints and models there.")
        if not settings.SAGEMAKER_ROLE_ARN:
            missing.append("Set SAGEMAKER_ROLE_ARN: the execution role SageMaker runs training jobs as.")
        for setting in IMAGE_SETTINGS.values():
            if not getattr(settings, setting, ""):
                missing.append(f"Set {setting}: the ECR URI of the training image built from docker/.")
        if not settings.AWS_REGION:
            missing.append("Set AWS_REGION: the region ModelHub's jobs run in.")
        if not credentials_found():
            missing.append("Give ModelHub AWS credentials (environment, profile or instance role).")
        return Readiness(usable=not missing, missing=tuple(missing))

    def job_root(self, remote_name: str) -> str:
        if not settings.S3_BUCKET:
            raise RemoteValidationError("S3_BUCKET is not configured: SageMaker jobs keep their configs and outputs there.")
        return storage.s3_uri("jobs", remote_name, folder=True)

    # Submit -------------------------------------------------------------------------------------------

    def stage_files(self, locations: JobLocations, files: Mapping[str, str]) -> None:
        """Upload the rendered files under the job's config prefix."""
        bucket, key = _s3_location(locations.config)
        for filename, text in sorted(files.items()):
            with aws_errors():
                self.s3.put_object(Bucket=bucket, Key=key + filename, Body=text.encode())

    def submit(self, submission: TrainingSubmission) -> RemoteState:
        ref = JobRef(job_id=submission.job_id, remote_name=submission.remote_name, locations=submission.locations)
        existing = self._describe_or_none(ref, adopted=True)
        if existing is not None:
            logger.info("Adopting existing training job %s", submission.remote_name)
            return existing
        request = training_job_request(submission, container_environment(submission))  # checks the settings first
        if submission.secrets:  # only the secret's ARN goes into the request
            request["Environment"][ENV_SECRETS_ARN] = self.secrets.put(submission.job_id, submission.remote_name,
                                                                       submission.secrets, submission.owner)
        self.stage_files(submission.locations, submission.files)
        try:
            with aws_errors():
                response = self.sagemaker.create_training_job(**request)
        except RemoteConflict:
            logger.info("Training job %s already exists: adopting it", submission.remote_name)
            return self._describe(ref, adopted=True)
        return RemoteState(
            name=submission.remote_name, phase=JobPhase.STARTING, remote_status="InProgress", detail="Starting",
            remote_id=response.get("TrainingJobArn", ""), region=settings.AWS_REGION,
        )

    def delete_secrets(self, ref: JobRef) -> bool:
        """Delete the job's Secrets Manager secret (once it is over or deleted); False if none was there."""
        return self.secrets.delete(ref.remote_name)

    # Observe ------------------------------------------------------------------------------------------

    def _describe(self, ref: JobRef, *, adopted: bool = False) -> RemoteState:
        with aws_errors():
            return _described_state(self.sagemaker.describe_training_job(TrainingJobName=ref.remote_name),
                                    adopted=adopted)

    def _describe_or_none(self, ref: JobRef, *, adopted: bool = False) -> RemoteState | None:
        try:
            return self._describe(ref, adopted=adopted)
        except RemoteNotFound:
            return None

    def describe(self, ref: JobRef) -> RemoteState:
        return self._describe_or_none(ref) or RemoteState(name=ref.remote_name, phase=JobPhase.NOT_FOUND)

    def poll_many(self, refs: Iterable[JobRef]) -> dict[str, RemoteState]:
        """Summaries of `refs` that changed since they were last checked, from paginated list calls.

        One ListTrainingJobs call per 100 of our jobs modified in the window: jobs that did not change
        since the oldest check are not returned (nothing to do for them).
        """
        refs = list(refs)
        if not refs:
            return {}
        wanted = {ref.remote_name for ref in refs}
        checked = [ref.checked_since for ref in refs if ref.checked_since]
        found: dict[str, RemoteState] = {}
        token = None
        while True:
            kwargs = {
                "NameContains": f"{settings.TRAINING_JOB_NAME_PREFIX}-",
                "MaxResults": LIST_PAGE_SIZE,
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
            }
            if len(checked) == len(refs):  # a ref without a time was never checked: list everything
                kwargs["LastModifiedTimeAfter"] = min(checked) - POLL_OVERLAP
            if token:
                kwargs["NextToken"] = token
            with aws_errors():
                page = self.sagemaker.list_training_jobs(**kwargs)
            for summary in page.get("TrainingJobSummaries", []):
                if summary["TrainingJobName"] in wanted:
                    found[summary["TrainingJobName"]] = _summary_state(summary)
            token = page.get("NextToken")
            if not token:
                return found

    def stop(self, ref: JobRef) -> None:
        try:
            with aws_errors():
                self.sagemaker.stop_training_job(TrainingJobName=ref.remote_name)
        except RemoteNotFound:
            return
        except RemoteValidationError as exc:
            # "The request was rejected because the training job is in status Completed." — already over.
            if "status" in str(exc).lower():
                return
            raise

    def logs(self, ref: JobRef, next_token: str | None = None, limit: int = 500) -> LogPage:
        return cloudwatch.tail(self.logs_client, settings.TRAINING_LOG_GROUP, ref.remote_name, next_token, limit)

    def read_text(self, uri: str) -> str:
        """An object's text ("" when absent), e.g. the trainer log SageMaker syncs from the checkpoint dir."""
        bucket, key = _s3_location(uri)
        try:
            with aws_errors():
                body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except RemoteNotFound:
            return ""
        return body.decode("utf-8", errors="replace")
