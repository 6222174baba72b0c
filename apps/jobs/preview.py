"""What a job would run, before it is launched: the files the submit renders (the same pure renderers,
`render_job_bundle`), the instance and the estimated cost. Locations that only exist once the job does
(its name, its S3 prefixes) are shown as placeholders."""

from dataclasses import dataclass

from apps.catalog import instances
from apps.catalog.models import Dataset

from .renderers import render_job_bundle
from .renderers.bundle import MANIFEST
from .serializers import NewJob
from .targets import training_targets

PENDING = "(assigned at launch)"


@dataclass(frozen=True)
class Preview:
    files: dict[str, str]  # file name -> text, the trainer's config first
    instance: object  # apps.catalog.instances.InstanceType, or None when the catalog has no such type
    instance_count: int
    hours: float
    cost_usd: float | None
    target_label: str


def preview(new: NewJob) -> Preview:
    spec = new.spec
    by_pk = {ds.pk: ds for ds in Dataset.objects.filter(pk__in=list(spec.datasets))}
    context = {"job_id": None, "job_name": PENDING, "datasets": [by_pk[pk] for pk in spec.datasets if pk in by_pk],
               "output_uri": PENDING, "checkpoint_uri": PENDING, "config_uri": PENDING}
    rendered = render_job_bundle(spec, context)
    files = {name: text for name, text in rendered.items() if name != MANIFEST}
    labels = {t.name: t.label for t in training_targets()}
    return Preview(
        files=files, instance=instances.get(spec.instance_type), instance_count=spec.instance_count,
        hours=spec.max_run_hours,
        cost_usd=instances.estimated_cost_usd(spec.instance_type, spec.instance_count, spec.max_run_hours),
        target_label=labels.get(new.target, new.target),
    )
