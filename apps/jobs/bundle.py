"""The bridge between a job row and the pure renderers: the spec parsed from the row, the render
context read from the catalog, and the stored secrets the spec names."""

from apps.catalog.models import Dataset
from apps.users import stored_secrets

from . import layout
from .renderers import secret_refs
from .spec import TrainingSpec


def training_spec(job) -> TrainingSpec:
    return TrainingSpec.from_dict(job.spec)


def render_context(job, spec: TrainingSpec, store: str = "") -> dict:
    """What the renderers need besides the spec: the catalog datasets, the store the target reads their
    staged copies from (its backend's `storage_target`; "" for the renderers' default) and the job's locations."""
    by_pk = {ds.pk: ds for ds in Dataset.objects.filter(pk__in=list(spec.datasets))}
    return {
        "job_id": job.pk,
        "job_name": job.remote_name,
        "datasets": [by_pk[pk] for pk in spec.datasets if pk in by_pk],
        "output_uri": job.output_uri,
        "checkpoint_uri": job.uri(layout.CHECKPOINT_DIR),
        "config_uri": job.uri(layout.CONFIG_DIR),
        "store": store,
    }


def uses_secrets(job) -> bool:
    """Whether the spec refers to any stored secret (so the backend may hold a copy for the run)."""
    return bool(secret_refs(training_spec(job)))


def secret_environment(job, spec: TrainingSpec) -> dict[str, str]:
    """{variable: value} of every stored secret the spec refers to (tracker key, HF token), read at submit only."""
    return stored_secrets.read(job.owner_id, secret_refs(spec), remedy="clone the job")
