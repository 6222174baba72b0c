"""A scripted, in-memory SageMaker client for the training calls ModelHub makes.

It behaves like AWS where moto does not: a duplicate create raises ResourceInUse, stop works,
statuses move only when the test says so (`advance`), LastModifiedTime changes with every
status change, and list pagination honours MaxResults / NextToken. Every call is counted.
"""

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError


def client_error(code: str, message: str, status: int = 400, operation: str = "Operation") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


class FakeSageMaker:
    def __init__(self, clock=None):
        self.jobs: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.calls: Counter = Counter()
        self._tick = itertools.count()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.fail_next: list[ClientError] = []  # raised (in order) by the next calls, whatever they are

    def _maybe_fail(self):
        if self.fail_next:
            raise self.fail_next.pop(0)

    def now(self):
        # strictly increasing, so LastModifiedTime orders changes even within one clock tick
        return self.clock() + timedelta(microseconds=next(self._tick))

    # API ---------------------------------------------------------------------------------------------

    def create_training_job(self, **request):
        self.calls["create_training_job"] += 1
        self._maybe_fail()
        name = request["TrainingJobName"]
        if name in self.jobs:
            raise client_error("ResourceInUse", f"Training job names must be unique within an AWS account and region, and a training job with this name already exists (arn:aws:sagemaker:us-east-1:123456789012:training-job/{name})", operation="CreateTrainingJob")
        self.requests.append(request)
        now = self.now()
        self.jobs[name] = {
            "TrainingJobName": name,
            "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
            "TrainingJobStatus": "InProgress",
            "SecondaryStatus": "Starting",
            "CreationTime": now,
            "LastModifiedTime": now,
            "SecondaryStatusTransitions": [{"Status": "Starting", "StartTime": now, "StatusMessage": "Preparing the instances for training"}],
            "StoppingCondition": request.get("StoppingCondition", {}),
        }
        return {"TrainingJobArn": self.jobs[name]["TrainingJobArn"]}

    def describe_training_job(self, TrainingJobName):
        self.calls["describe_training_job"] += 1
        self._maybe_fail()
        job = self.jobs.get(TrainingJobName)
        if job is None:
            raise client_error("ValidationException", f"Could not find training job '{TrainingJobName}'.", operation="DescribeTrainingJob")
        return {k: (list(v) if isinstance(v, list) else v) for k, v in job.items()}

    def list_training_jobs(self, MaxResults=10, NextToken=None, NameContains=None, LastModifiedTimeAfter=None, **_):
        self.calls["list_training_jobs"] += 1
        self._maybe_fail()
        rows = [j for j in self.jobs.values()
                if (not NameContains or NameContains in j["TrainingJobName"])
                and (LastModifiedTimeAfter is None or j["LastModifiedTime"] > LastModifiedTimeAfter)]
        rows.sort(key=lambda j: j["CreationTime"], reverse=True)
        start = int(NextToken or 0)
        page = rows[start:start + MaxResults]
        summaries = [{k: j[k] for k in ("TrainingJobName", "TrainingJobArn", "CreationTime", "LastModifiedTime",
                                        "TrainingJobStatus", "SecondaryStatus") if k in j} for j in page]
        for summary, job in zip(summaries, page, strict=True):
            if "TrainingEndTime" in job:
                summary["TrainingEndTime"] = job["TrainingEndTime"]
        result = {"TrainingJobSummaries": summaries}
        if start + MaxResults < len(rows):
            result["NextToken"] = str(start + MaxResults)
        return result

    def stop_training_job(self, TrainingJobName):
        self.calls["stop_training_job"] += 1
        self._maybe_fail()
        job = self.jobs.get(TrainingJobName)
        if job is None:
            raise client_error("ValidationException", f"Could not find training job '{TrainingJobName}'.", operation="StopTrainingJob")
        if job["TrainingJobStatus"] != "InProgress":
            raise client_error("ValidationException", f"The request was rejected because the training job is in status {job['TrainingJobStatus']}.", operation="StopTrainingJob")
        self.advance(TrainingJobName, "Stopping", "Stopping", "Stopping the training job")
        return {}

    # Script ------------------------------------------------------------------------------------------

    def advance(self, name: str, status: str, secondary: str, message: str = "", *, failure_reason: str | None = None,
                billable: int | None = None):
        job = self.jobs[name]
        now = self.now()
        transitions = job["SecondaryStatusTransitions"]
        if transitions and "EndTime" not in transitions[-1]:
            transitions[-1]["EndTime"] = now
        transitions.append({"Status": secondary, "StartTime": now, "StatusMessage": message})
        job.update(TrainingJobStatus=status, SecondaryStatus=secondary, LastModifiedTime=now)
        if secondary == "Training" and "TrainingStartTime" not in job:
            job["TrainingStartTime"] = now
        if status in ("Completed", "Failed", "Stopped"):
            job["TrainingEndTime"] = now
            transitions[-1]["EndTime"] = now
            job["BillableTimeInSeconds"] = billable if billable is not None else 60
        if failure_reason:
            job["FailureReason"] = failure_reason

    def add_remote(self, name: str, status="InProgress", secondary="Training", modified=None):
        """A job that exists remotely without going through create (seeding big fleets)."""
        now = modified or self.now()
        self.jobs[name] = {
            "TrainingJobName": name, "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
            "TrainingJobStatus": status, "SecondaryStatus": secondary, "CreationTime": now, "LastModifiedTime": now,
            "SecondaryStatusTransitions": [],
        }


class FakeS3:
    """Just enough S3 for trainer logs: objects by (bucket, key); missing keys raise NoSuchKey."""

    def __init__(self):
        self.objects: dict[tuple[str, str], bytes] = {}
        self.calls: Counter = Counter()

    def put_object(self, Bucket, Key, Body, **_):
        self.objects[(Bucket, Key)] = Body if isinstance(Body, bytes) else Body.encode()
        return {}

    def get_object(self, Bucket, Key):
        import io

        self.calls["get_object"] += 1
        if (Bucket, Key) not in self.objects:
            raise client_error("NoSuchKey", "The specified key does not exist.", status=404, operation="GetObject")
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}
