"""Compare runs: several jobs' loss, eval loss and reward curves on one chart, and the settings in
which their specs differ, side by side.

Curves come from `services.refresh_metrics`, the same read the job page's chart makes through the
API; the helpers below only arrange what it returns.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.core import limits
from apps.users.ownership import visible_to

from . import services
from .forms import _label as label_for
from .models import Status, TrainingJob

MAX_RUNS = 8  # one chart stays readable, and each run is one trainer-log read
PICKER_SIZE = 50
CURVES = ("loss", "eval_loss", "reward")  # the trainer-log point keys drawn
MISSING = "—"


@dataclass(frozen=True)
class Row:
    """One spec field whose value is not the same in every compared run."""

    key: str
    values: tuple[str, ...]  # one per run, in the runs' order; MISSING where a run has no value


def display(value) -> str:
    if value in (None, "", [], ()):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def differing_fields(specs: Sequence[Mapping]) -> list[Row]:
    """The fields whose displayed value differs between `specs`, in the order they first appear.

    A field one run lacks and another has counts as differing; a field every run lacks (or leaves
    empty) does not. One spec alone has nothing to differ from.
    """
    if len(specs) < 2:
        return []
    keys: dict[str, None] = {}
    for spec in specs:
        keys.update(dict.fromkeys(spec))
    rows = []
    for key in keys:
        values = tuple(display(spec.get(key)) for spec in specs)
        if len(set(values)) > 1:
            rows.append(Row(key, values))
    return rows


def chart_data(runs: Sequence[Sequence[Mapping]]) -> dict:
    """One x axis for several runs' trainer-log points, as uPlot wants its data.

    `steps` is every step any run logged, ascending; each series has one value per step (None where
    that run logged nothing for the curve at that step). A run gets a series only for the curves it
    logged at least once.
    """
    steps = sorted({point["step"] for points in runs for point in points})
    index = {step: i for i, step in enumerate(steps)}
    series = []
    for run, points in enumerate(runs):
        for curve in CURVES:
            if not any(curve in point for point in points):
                continue
            values = [None] * len(steps)
            for point in points:
                if curve in point:
                    values[index[point["step"]]] = point[curve]
            series.append({"run": run, "curve": curve, "values": values})
    return {"steps": steps, "series": series}


def selected_ids(params) -> list[int]:
    """Job ids from `?ids=3&ids=5` or `?ids=3,5`: distinct, in the order given, at most MAX_RUNS."""
    ids: list[int] = []
    for raw in params.getlist("ids"):
        for part in raw.split(","):
            pk = limits.parse_id(part)
            if pk is not None and pk not in ids:
                ids.append(pk)
    return ids[:MAX_RUNS]


def _metrics(job: TrainingJob) -> list[dict]:
    if not job.remote_id and job.status in (Status.QUEUED, Status.SUBMITTING):
        return []  # nothing can have been logged yet
    return services.refresh_metrics(job)


def _with_dataset_names(specs: list[dict]) -> list[dict]:
    from apps.catalog.models import Dataset

    ids = {i for spec in specs for i in map(limits.parse_id, spec.get("datasets") or []) if i is not None}
    names = dict(Dataset.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    return [
        {**spec, "datasets": [names.get(limits.parse_id(v), v) for v in spec["datasets"]]}
        if spec.get("datasets") else spec
        for spec in specs
    ]


@login_required
@require_GET
def compare(request):
    ids = selected_ids(request.GET)
    visible = visible_to(TrainingJob.objects.alive().select_related("owner"), request.user)
    found = {job.pk: job for job in visible.filter(pk__in=ids)}
    jobs = [found[pk] for pk in ids if pk in found]
    runs = [_metrics(job) for job in jobs]
    rows = differing_fields(_with_dataset_names([dict(job.spec) for job in jobs]))
    picker = list(visible.defer("spec").order_by("-created_at", "-id")[:PICKER_SIZE])
    picker += [job for job in jobs if job not in picker]  # an older selected run stays ticked
    context = {
        "jobs": jobs,
        "missing": [pk for pk in ids if pk not in found],  # absent and not visible look the same
        "picker": picker,
        "selected": set(ids),
        "max_runs": MAX_RUNS,
        "chart": {**chart_data(runs), "runs": [job.name for job in jobs]},
        "rows": [(row.key, label_for(row.key), row.values) for row in rows],
        "same_count": len({key for job in jobs for key in job.spec}) - len(rows),
    }
    return render(request, "jobs/compare.html", context)
