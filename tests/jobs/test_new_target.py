"""A compute target that ModelHub has never heard of, added through settings alone, drives a job's
whole life: created through the API, submitted, running with progress from its trainer log, logs
read, stopped by the user, and closed by the reconcile loop. Nothing in apps/jobs names it."""

from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from apps.backends import registry
from apps.backends.base import Capability, JobPhase, LogLine, LogPage, Readiness, RemoteState
from apps.jobs import reconcile
from apps.jobs.models import Status, TrainingJob

from .factories import make_dataset, trainer_log_uri, valid_spec

pytestmark = pytest.mark.django_db


class TinyLab:
    """A lab cluster with words of its own (QUEUED, RUNNING, KILLING, KILLED) and a scratch disk."""

    name = "tinylab"
    label = "Tiny lab cluster"
    capabilities = frozenset({Capability.LOGS, Capability.METRICS, Capability.STOP})
    runs: ClassVar[dict[str, dict]] = {}
    scratch: ClassVar[dict[str, str]] = {}
    PHASES: ClassVar[dict[str, JobPhase]] = {"QUEUED": JobPhase.STARTING, "RUNNING": JobPhase.RUNNING,
                                             "KILLING": JobPhase.STOPPING, "KILLED": JobPhase.STOPPED}

    def readiness(self):
        return Readiness(usable=True)

    def job_root(self, remote_name):
        return f"lab://scratch/{remote_name}/"

    def submit(self, submission):
        self.runs[submission.remote_name] = {"word": "QUEUED", "submission": submission, "log": []}
        return self.describe(submission)

    def describe(self, ref):
        run = self.runs.get(ref.remote_name)
        if run is None:
            return RemoteState(name=ref.remote_name, phase=JobPhase.NOT_FOUND)
        return RemoteState(name=ref.remote_name, phase=self.PHASES[run["word"]], remote_status=run["word"],
                           remote_id=f"pid-{run['submission'].job_id}")

    def poll_many(self, refs):
        return {ref.remote_name: self.describe(ref) for ref in refs if ref.remote_name in self.runs}

    def stop(self, ref):
        if ref.remote_name in self.runs:
            self.runs[ref.remote_name]["word"] = "KILLING"

    def logs(self, ref, next_token=None, limit=500):
        lines = self.runs[ref.remote_name]["log"][int(next_token or 0):]
        stamp = datetime(2026, 1, 1, tzinfo=UTC)
        return LogPage([LogLine(stamp, line, "node-0") for line in lines], str(int(next_token or 0) + len(lines)))

    def read_text(self, uri):
        return self.scratch.get(uri, "")


@pytest.fixture
def tinylab(settings):
    settings.TRAINING_BACKENDS = {**settings.TRAINING_BACKENDS, "tinylab": f"{__name__}.TinyLab"}
    settings.COMPUTE_BACKEND = "tinylab"
    TinyLab.runs, TinyLab.scratch = {}, {}
    registry.reset()
    return TinyLab


def test_a_target_added_in_settings_runs_a_job_from_submit_to_stopped(user, user_api, tinylab, inline_tasks):
    dataset = make_dataset(user, "alpaca")  # the target stages nothing: it declares no STORAGE
    response = user_api.post("/api/v1/jobs/", valid_spec("sft", dataset), format="json")
    assert response.status_code == 201, response.json()
    job = TrainingJob.objects.get(pk=response.json()["id"])
    assert response.json()["target"] == "tinylab"

    # Submitted: the target got one complete submission.
    job.refresh_from_db()
    assert job.status == Status.STARTING and job.remote_id == f"pid-{job.pk}"
    sent = tinylab.runs[job.remote_name]["submission"]
    assert sent.locations.root == f"lab://scratch/{job.remote_name}/" and "job.json" in sent.files
    assert sent.environment["MODELHUB_CONFIG_URI"] == f"lab://scratch/{job.remote_name}/config/"
    assert sent.resources.instance_type == job.spec["instance_type"] and sent.tool == "llamafactory"

    # Running, with progress from the trainer log on its scratch disk, and logs.
    tinylab.runs[job.remote_name]["word"] = "RUNNING"
    tinylab.runs[job.remote_name]["log"] += ["loading model", "step 10/40 loss 1.2"]
    tinylab.scratch[trainer_log_uri(job)] = '{"current_steps": 10, "total_steps": 40, "loss": 1.2, "remaining_time": "0:03:00"}\n'
    assert reconcile.reconcile_once().moved == 1
    job.refresh_from_db()
    assert job.status == Status.RUNNING and job.remote_status == "RUNNING"
    metrics = user_api.get(f"/api/v1/jobs/{job.pk}/metrics").json()
    assert metrics["records"][0]["loss"] == 1.2
    assert metrics["progress"] == {"step": 10, "total_steps": 40, "percentage": 25.0, "eta_seconds": 180}
    logs = user_api.get(f"/api/v1/jobs/{job.pk}/logs").json()
    assert [line["message"] for line in logs["lines"]] == ["loading model", "step 10/40 loss 1.2"]
    assert user_api.get(f"/api/v1/jobs/{job.pk}/logs", {"next_token": logs["next_token"]}).json()["lines"] == []

    # Stopped by the user: the stop reaches the target, which reports KILLING, then KILLED.
    assert user_api.post(f"/api/v1/jobs/{job.pk}/stop").status_code == 202
    assert tinylab.runs[job.remote_name]["word"] == "KILLING"
    reconcile.reconcile_once()
    job.refresh_from_db()
    assert job.status == Status.STOPPING
    tinylab.runs[job.remote_name]["word"] = "KILLED"
    reconcile.reconcile_once()
    job.refresh_from_db()
    assert job.status == Status.STOPPED and job.ended_at is not None
    assert [name for name, _ in inline_tasks] == ["jobs.submit", "jobs.stop"]


# The modules that drive jobs through their targets (the spec and the renderers describe SageMaker's
# instance types and metric definitions on purpose).
DRIVERS = ("api", "bundle", "dispatch", "layout", "lifecycle", "models", "reconcile", "services", "submission",
           "tasks", "views")


def test_nothing_that_drives_jobs_names_a_target_or_its_words():
    jobs = Path(__file__).resolve().parents[2] / "apps" / "jobs"
    for module in DRIVERS:
        path = jobs / f"{module}.py"
        text = path.read_text()
        for word in ("tinylab", "sagemaker", "SageMaker", "InProgress", "SecondaryStatus"):
            assert word not in text, f"{path.relative_to(jobs.parent.parent)} names {word!r}"
