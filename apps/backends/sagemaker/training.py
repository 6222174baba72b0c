"""SageMaker training jobs: submit (or adopt), bulk poll, describe, stop, logs and metrics.

The request is built by a pure function (`training_job_request`) from the job and its settings,
so tests assert on exactly what would be sent. Submitting describes first and adopts a job that
already has our name: a retried or re-dispatched submit never creates a second job (AWS answers
a duplicate create with ResourceInUse, which we also adopt; moto silently overwrites instead).
The user's secrets go into the job's Secrets Manager secret (secrets.py), never into the request.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings

from apps.jobs import layout

from ..aws import aws_errors, client
from ..base import LogPage, RemoteState
from ..errors import RemoteConflict, RemoteNotFound, RemoteValidationError
from . import logs as cloudwatch
from .secrets import ENV_SECRETS_ARN, JobSecrets

logger = logging.getLogger(__name__)

LIST_PAGE_SIZE = 100  # the API's maximum
ENV_VALUE_LIMIT = 512  # botocore: training Environment values ≤ 512 characters, ≤ 100 entries
ENV_ENTRIES_LIMIT = 100
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
# Jobs modified this long before the last poll are listed again (clock skew, eventual consistency).
POLL_OVERLAP = timedelta(minutes=5)


def _image_for(job_type: str) -> str:
    from apps.core.job_types import tool_for

    setting = "TRAINING_IMAGE_EASYR1" if tool_for(job_type) == "easyr1" else "TRAINING_IMAGE_LLAMAFACTORY"
    image = getattr(settings, setting, "")
    if not image:
        raise RemoteValidationError(f"{setting} is not configured: set it to the training image's ECR URI.")
    return image


def container_environment(job, spec, secrets_arn: str | None = None) -> dict[str, str]:
    """The training container's environment. SageMaker keeps it with the job, readable by whoever may
    DescribeTrainingJob, so it never holds a secret value: only the ARN of the job's secret."""
    env = {
        layout.ENV_JOB_ID: str(job.pk),
        layout.ENV_JOB_TYPE: job.job_type,
        layout.ENV_JOB_URI: job.output_uri,
        layout.ENV_CONFIG_URI: job.uri(layout.CONFIG_DIR),
        layout.ENV_CHECKPOINT_URI: job.uri(layout.CHECKPOINT_DIR),
        layout.ENV_MODEL_URI: job.uri(layout.MODEL_DIR),
        layout.ENV_MERGED_URI: job.uri(layout.MERGED_DIR),
        layout.ENV_HUGGINGFACE_URI: job.uri(layout.HUGGINGFACE_DIR),
        layout.ENV_CHECKPOINT_DIR: CHECKPOINT_LOCAL_PATH,
        "MODELHUB_REGION": settings.AWS_REGION,
    }
    if spec.resume_from_checkpoint:
        env[layout.ENV_RESUME_FROM] = spec.resume_from_checkpoint
    if secrets_arn:
        env[ENV_SECRETS_ARN] = secrets_arn
    too_long = [key for key, value in env.items() if len(value) > ENV_VALUE_LIMIT or len(key) > ENV_VALUE_LIMIT]
    if too_long or len(env) > ENV_ENTRIES_LIMIT:
        raise RemoteValidationError(
            f"Container environment values must be at most {ENV_VALUE_LIMIT} characters: {', '.join(too_long)}."
        )
    return env


def training_job_request(job, spec, metric_definitions: list[dict], secrets_arn: str | None = None) -> dict[str, Any]:
    """The CreateTrainingJob request for `job` and its TrainingSpec."""
    if not settings.SAGEMAKER_ROLE_ARN:
        raise RemoteValidationError("SAGEMAKER_ROLE_ARN is not configured: SageMaker needs an execution role.")
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": spec.max_run_seconds}
    if spec.use_spot:
        stopping["MaxWaitTimeInSeconds"] = max(spec.max_run_seconds, spec.max_wait_seconds or 0)
    return {
        "TrainingJobName": job.remote_name,
        "RoleArn": settings.SAGEMAKER_ROLE_ARN,
        "AlgorithmSpecification": {
            "TrainingImage": _image_for(job.job_type),
            "TrainingInputMode": "File",
            "MetricDefinitions": metric_definitions,
        },
        "ResourceConfig": {
            "InstanceType": spec.instance_type,
            "InstanceCount": int(spec.instance_count),
            "VolumeSizeInGB": int(spec.volume_size_gb),
        },
        "OutputDataConfig": {"S3OutputPath": job.uri(layout.OUTPUT_DIR)},
        "CheckpointConfig": {"S3Uri": job.uri(layout.CHECKPOINT_DIR), "LocalPath": CHECKPOINT_LOCAL_PATH},
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": bool(spec.use_spot),
        "Environment": container_environment(job, spec, secrets_arn),
        "Tags": [
            {"Key": "modelhub:job-id", "Value": str(job.pk)},
            {"Key": "modelhub:owner", "Value": job.owner.get_username()},
            {"Key": "modelhub:job-type", "Value": job.job_type},
        ],
    }


def _summary_state(summary: dict) -> RemoteState:
    return RemoteState(
        name=summary["TrainingJobName"],
        status=summary.get("TrainingJobStatus", ""),
        secondary_status=summary.get("SecondaryStatus", ""),
        ended_at=summary.get("TrainingEndTime"),
        extra={"arn": summary.get("TrainingJobArn", ""), "last_modified": summary.get("LastModifiedTime")},
    )


def _described_state(description: dict) -> RemoteState:
    transitions = [
        {
            "status": t.get("Status", ""),
            "message": t.get("StatusMessage", ""),
            "start": t["StartTime"].isoformat() if t.get("StartTime") else None,
            "end": t["EndTime"].isoformat() if t.get("EndTime") else None,
        }
        for t in description.get("SecondaryStatusTransitions", [])
    ]
    return RemoteState(
        name=description["TrainingJobName"],
        status=description.get("TrainingJobStatus", ""),
        secondary_status=description.get("SecondaryStatus", ""),
        message=transitions[-1]["message"] if transitions else "",
        failure_reason=description.get("FailureReason", ""),
        started_at=description.get("TrainingStartTime"),
        ended_at=description.get("TrainingEndTime"),
        billable_seconds=description.get("BillableTimeInSeconds"),
        output_uri=(description.get("ModelArtifacts") or {}).get("S3ModelArtifacts", ""),
        extra={
            "arn": description.get("TrainingJobArn", ""),
            "transitions": transitions,
            "final_metrics": [
                {"name": m.get("MetricName"), "value": m.get("Value")} for m in description.get("FinalMetricDataList", [])
            ],
        },
    )


class SageMakerTraining:
    name = "sagemaker"
    storage_target = "s3"  # where catalog datasets are staged for this backend

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

    # Submit -----------------------------------------------------------------------------------------

    def describe_or_none(self, job) -> RemoteState | None:
        try:
            return self.describe(job)
        except RemoteNotFound:
            return None

    def ensure_output_uri(self, job) -> None:
        if job.output_uri:
            return
        if not settings.S3_BUCKET:
            raise RemoteValidationError("S3_BUCKET is not configured: SageMaker jobs keep their configs and outputs there.")
        job.output_uri = layout.job_prefix_uri(job.remote_name)
        type(job).objects.filter(pk=job.pk).update(output_uri=job.output_uri)

    def stage(self, job, files: dict[str, str]) -> None:
        """Upload the rendered bundle under the job's config/ prefix."""
        bucket, key = layout.split_s3_uri(job.uri(layout.CONFIG_DIR))
        for filename, text in sorted(files.items()):
            with aws_errors():
                self.s3.put_object(Bucket=bucket, Key=key + filename, Body=text.encode())

    def submit(self, job) -> RemoteState:
        existing = self.describe_or_none(job)
        if existing is not None:
            logger.info("Adopting existing training job %s", job.remote_name)
            existing.extra["adopted"] = True
            return existing
        self.ensure_output_uri(job)
        spec, values = job.training_spec(), job.secret_environment()
        request = training_job_request(job, spec, job.metric_definitions())  # settings checked before anything is made
        if values:
            request["Environment"] = container_environment(job, spec, self.secrets.put(job, values))
        self.stage(job, job.render_bundle())
        try:
            with aws_errors():
                response = self.sagemaker.create_training_job(**request)
        except RemoteConflict:
            logger.info("Training job %s already exists: adopting it", job.remote_name)
            existing = self.describe(job)
            existing.extra["adopted"] = True
            return existing
        return RemoteState(
            name=job.remote_name, status="InProgress", secondary_status="Starting",
            extra={"arn": response.get("TrainingJobArn", "")},
        )

    def delete_secrets(self, job) -> bool:
        """Delete the job's Secrets Manager secret (once it is over or deleted); False if none was there."""
        return self.secrets.delete(job.remote_name)

    # Observe ----------------------------------------------------------------------------------------

    def describe(self, job) -> RemoteState:
        with aws_errors():
            return _described_state(self.sagemaker.describe_training_job(TrainingJobName=job.remote_name))

    def poll_many(self, jobs: Iterable) -> dict[str, RemoteState]:
        """Summaries of `jobs` that changed since they were last checked, from paginated list calls.

        One ListTrainingJobs call per 100 of our jobs modified in the window: jobs that did not
        change since the oldest check are not returned (nothing to do for them).
        """
        jobs = list(jobs)
        if not jobs:
            return {}
        wanted = {job.remote_name for job in jobs}
        since = min((job.remote_checked_at or job.created_at) for job in jobs) - POLL_OVERLAP
        found: dict[str, RemoteState] = {}
        token = None
        while True:
            kwargs = {
                "NameContains": f"{settings.TRAINING_JOB_NAME_PREFIX}-",
                "LastModifiedTimeAfter": since,
                "MaxResults": LIST_PAGE_SIZE,
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
            }
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

    def stop(self, job) -> None:
        try:
            with aws_errors():
                self.sagemaker.stop_training_job(TrainingJobName=job.remote_name)
        except RemoteNotFound:
            return
        except RemoteValidationError as exc:
            # "The request was rejected because the training job is in status Completed." — already over.
            if "status" in str(exc).lower():
                return
            raise

    def logs(self, job, next_token: str | None = None, limit: int = 500) -> LogPage:
        return cloudwatch.tail(self.logs_client, settings.TRAINING_LOG_GROUP, job.remote_name, next_token, limit)

    def metrics(self, job) -> list[dict]:
        """Trainer log points from the checkpoint location (SageMaker syncs it there during training)."""
        text = self.trainer_log_text(job)
        return job.parse_trainer_log(text) if text else []

    def trainer_log_text(self, job) -> str:
        bucket, key = layout.split_s3_uri(job.trainer_log_uri())
        try:
            with aws_errors():
                body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except RemoteNotFound:
            return ""
        return body.decode("utf-8", errors="replace")
