"""The bridge between a job row and the configuration engineer's pure renderers.

Backends call these through the job (`job.render_bundle()`, `job.metric_definitions()`,
`job.parse_trainer_log()`), so they never depend on how the renderers are organised.
"""

from . import layout


def training_spec(job):
    from .spec import TrainingSpec

    return TrainingSpec.from_dict(job.spec)


def render_context(job) -> dict:
    """What the renderers need besides the spec: the catalog datasets and the job's locations."""
    from apps.catalog.models import Dataset

    spec = training_spec(job)
    by_pk = {ds.pk: ds for ds in Dataset.objects.filter(pk__in=list(spec.datasets))}
    return {
        "job_id": job.pk,
        "job_name": job.remote_name,
        "datasets": [by_pk[pk] for pk in spec.datasets if pk in by_pk],
        "output_uri": job.output_uri,
        "checkpoint_uri": job.uri(layout.CHECKPOINT_DIR),
        "config_uri": job.uri(layout.CONFIG_DIR),
    }


def render(job) -> dict[str, str]:
    from .renderers import render_job_bundle

    return render_job_bundle(training_spec(job), render_context(job))


def metric_definitions(job) -> list[dict]:
    from .renderers.metrics import metric_definitions as definitions

    return definitions(job.job_type)


def parse_trainer_log(job, text: str) -> list[dict]:
    from .renderers.metrics import parse_trainer_log as parse

    return parse(text)


def progress(points: list[dict]) -> dict:
    from .renderers.metrics import progress as latest

    return latest(points)


def trainer_log_uri(job) -> str:
    from .renderers import trainer_log_key

    return job.uri(layout.CHECKPOINT_DIR) + trainer_log_key(training_spec(job))


class MissingSecret(Exception):
    pass


def uses_secrets(job) -> bool:
    """Whether the spec refers to any stored secret (so the backend may hold a copy for the run)."""
    from .renderers import secret_refs

    return bool(secret_refs(training_spec(job)))


def secret_environment(job) -> dict[str, str]:
    """{variable: value} of every stored secret the spec refers to (tracker key, HF token), read at submit only."""
    from apps.users.models import UserSecret

    from .renderers import secret_refs

    refs = secret_refs(training_spec(job))
    if not refs:
        return {}
    values = dict(UserSecret.objects.filter(owner_id=job.owner_id, name__in=refs.values()).values_list("name", "value"))
    missing = sorted(name for name in refs.values() if name not in values)
    if missing:
        raise MissingSecret(f"The stored secret(s) {', '.join(map(repr, missing))} the job uses no longer exist; "
                            "store them again on your profile page and clone the job.")
    return {variable: values[name] for variable, name in refs.items()}
