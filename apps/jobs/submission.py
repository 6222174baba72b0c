"""What a job's backend is handed: the `TrainingSubmission` (built once per submit) and the `JobRef`
of a run it already has. The only place that turns a job row into the contract's value objects."""

from apps.backends.base import (
    Capability,
    JobLocations,
    JobRef,
    Resources,
    StagedDataset,
    TrainingSubmission,
    supports,
)
from apps.core.job_types import tool_for
from apps.users.models import execution_role_for

from . import bundle, layout
from .models import TrainingJob
from .renderers import metric_definitions, render_job_bundle, trainer_log_key
from .spec import TrainingSpec


def ensure_root(job: TrainingJob, backend) -> str:
    """The job's storage prefix, asked from the backend now if the row has none yet (no bucket at
    creation); raises the backend's RemoteValidationError when it still has none to give."""
    if not job.output_uri:
        job.output_uri = backend.job_root(job.remote_name)
        TrainingJob.objects.filter(pk=job.pk).update(output_uri=job.output_uri)
    return job.output_uri


def locations(job: TrainingJob, spec: TrainingSpec) -> JobLocations:
    return layout.locations(job.output_uri, trainer_log_key(spec))


def job_ref(job: TrainingJob) -> JobRef:
    """How the backend finds the job's run (cheap: no spec parsed, so a poll of thousands stays fast)."""
    return JobRef(
        job_id=job.pk, remote_name=job.remote_name, remote_id=job.remote_id,
        last_status=job.remote_status, checked_since=job.remote_checked_at or job.created_at,
    )


def build(job: TrainingJob, backend) -> TrainingSubmission:
    """Everything `backend` needs to start the job: the stored spec parsed once, the bundle rendered and
    the container environment built once, the stored secrets read (never logged: see its repr)."""
    spec = bundle.training_spec(job)
    root = ensure_root(job, backend)
    store = backend.storage_target if supports(backend, Capability.STORAGE) else ""
    context = bundle.render_context(job, spec, store)
    return TrainingSubmission(
        job_id=job.pk,
        remote_name=job.remote_name,
        owner=job.owner.get_username(),
        job_type=job.job_type,
        tool=tool_for(job.job_type),
        resources=Resources(
            instance_type=spec.instance_type, instance_count=int(spec.instance_count),
            volume_size_gb=int(spec.volume_size_gb), use_spot=bool(spec.use_spot),
            max_run_seconds=spec.max_run_seconds, max_wait_seconds=spec.max_wait_seconds,
            training_plan_arn=spec.training_plan_arn,
        ),
        locations=locations(job, spec),
        environment=layout.environment(job.pk, job.job_type, root, spec.resume_from_checkpoint),
        files=render_job_bundle(spec, context),
        spec=job.spec,
        metric_definitions=tuple(metric_definitions(job.job_type)),
        datasets=tuple(StagedDataset(ds.pk, ds.name, (ds.staged or {}).get(store, "")) for ds in context["datasets"]),
        tags={"modelhub:job-id": str(job.pk), "modelhub:owner": job.owner.get_username(),
              "modelhub:job-type": job.job_type},
        secrets=bundle.secret_environment(job, spec),
        execution_role=execution_role_for(job.owner) or "",
    )
