"""Job pages: list, create form, detail, and their live htmx parts."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from apps.backends.errors import BackendError
from apps.catalog import instances
from apps.catalog.models import BaseModel, Dataset
from apps.core.job_types import JobType
from apps.users.ownership import get_changeable_or_404, get_visible_or_404, is_admin, visible_to

from . import services, target_rules
from .forms import JobForm
from .forms import _label as label_for
from .listing import ORDERINGS, filter_jobs
from .models import JOB_MACHINE, Status, TrainingJob, default_target
from .serializers import spec_as_input

PAGE_SIZE = 25
SORTABLE = {"name": "Name", "job_type": "Type", "status": "Status", "created_at": "Created"}


def _jobs(user):
    return TrainingJob.objects.alive().select_related("owner")


def _job_or_404(request, pk):
    return get_visible_or_404(_jobs(request.user), request.user, pk=pk)


def _own_job_or_404(request, pk):
    return get_changeable_or_404(_jobs(request.user), request.user, pk=pk)


@login_required
@require_GET
def job_list(request):
    queryset = filter_jobs(visible_to(_jobs(request.user), request.user).defer("spec"), request.GET, request.user)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    jobs = list(page.object_list)
    params = request.GET.copy()
    params.pop("page", None)
    current = request.GET.get("ordering", "-created_at")
    if current not in ORDERINGS:
        current = "-created_at"
    sort_links = []
    for key, label in SORTABLE.items():
        sort = params.copy()
        sort["ordering"] = key if current != key else f"-{key}"
        sort_links.append({"label": label, "url": "?" + sort.urlencode(), "key": key,
                           "direction": "ascending" if current == key else "descending" if current == f"-{key}" else None})
    context = {
        "jobs": jobs,
        "page_obj": page,
        "query": params.urlencode(),
        "status_choices": Status.choices,
        "type_choices": JobType.choices,
        "filters": {k: request.GET.get(k, "") for k in ("status", "job_type", "owner", "search")},
        "show_owner": is_admin(request.user),
        "sort_links": sort_links,
        "any_moving": any(job.status in JOB_MACHINE.active for job in jobs),
    }
    if request.htmx and request.htmx.target == "job-rows":
        return render(request, "jobs/_list_rows.html", context)
    return render(request, "jobs/list.html", context)


def _estimate(instance_type, count, hours):
    try:
        count, hours = int(count), float(hours)
    except (TypeError, ValueError):
        return None
    instance = instances.get(instance_type) if instance_type else None
    cost = instances.estimated_cost_usd(instance_type, count, hours) if instance else None
    return {"instance": instance, "count": count, "hours": hours, "cost": cost}


def _catalog_models(user):
    return BaseModel.objects.visible_to_user(user).order_by("family", "parameters_b").only("key", "display_name", "family", "parameters_b")


@login_required
def job_new(request):
    job_type = request.POST.get("job_type") or request.GET.get("job_type") or JobType.SFT
    if job_type not in JobType.values:
        job_type = JobType.SFT
    if request.method == "POST":
        form = JobForm(request.POST, job_type=job_type, user=request.user)
        new = form.validate(request.user)
        if new is not None:
            job = services.create_job(request.user, new.name, new.spec.to_dict())
            # Neutral: the submission may already have failed by the time the page shows; its status says which.
            messages.info(request, f"Created job “{job.name}”. Its status below is kept up to date.")
            return redirect("jobs:detail", pk=job.pk)
    else:
        initial = {}
        source_id = request.GET.get("from")
        if source_id and source_id.isdigit():
            source = _job_or_404(request, int(source_id))
            job_type = source.job_type
            initial = spec_as_input(source.spec) | {"name": f"{source.name} (copy)"[:100]}
        for prefill in ("name", "base_model"):  # links such as "Fine-tune" on a catalog model's page
            if request.GET.get(prefill):
                initial[prefill] = request.GET[prefill]
        form = JobForm(initial=initial, job_type=job_type, user=request.user)
    values = form.data if form.is_bound else {**form.initial}
    estimate = _estimate(values.get("instance_type"), values.get("instance_count") or 1, values.get("max_run_hours"))
    target = default_target()
    context = {"form": form, "job_type": job_type, "estimate": estimate, "catalog_models": _catalog_models(request.user),
               "target_label": services.target_label(target), "readiness": services.target_readiness(target),
               "target_help": target_rules.help_text(target)}  # what the target runs differently (GRPO on TRL locally)
    return render(request, "jobs/new.html", context, status=400 if form.is_bound else 200)


@login_required
@require_GET
def estimate(request):
    data = _estimate(request.GET.get("instance_type"), request.GET.get("instance_count") or 1,
                     request.GET.get("max_run_hours"))
    return render(request, "jobs/_estimate.html", {"estimate": data})


def _deploy_url(job) -> str | None:
    if not job.is_deployable:
        return None
    try:
        return reverse("endpoints:new") + f"?job={job.pk}"
    except NoReverseMatch:
        return None


def _detail_context(job):
    events = list(job.events.order_by("created_at", "id"))
    return {
        "job": job,
        "timeline": events,
        "deploy_url": _deploy_url(job),
        "live": job.status in JOB_MACHINE.active,
        "target_label": services.target_label(job.target),
    }


@login_required
@require_GET
def job_detail(request, pk):
    job = _job_or_404(request, pk)
    context = _detail_context(job)
    context["spec_items"] = _spec_items(job.spec)
    return render(request, "jobs/detail.html", context)


def _spec_items(spec: dict) -> list[tuple[str, str, object]]:
    """(key, label, value) rows for the Configuration card: readable labels, lists joined, datasets by name."""
    ids = [int(v) for v in spec.get("datasets") or [] if str(v).isdigit()]
    names = dict(Dataset.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    rows = []
    for key, value in spec.items():
        if value in (None, "", []):
            continue
        if key == "datasets":
            value = [names.get(int(v), v) if str(v).isdigit() else v for v in value]
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        label = label_for(key).replace(" uri", " URI")  # the form's label for the same field
        rows.append((key, label, value))
    return rows


@login_required
@require_GET
def job_live(request, pk):
    job = _job_or_404(request, pk)
    return render(request, "jobs/_live.html", _detail_context(job))


@login_required
@require_GET
def job_logs(request, pk):
    job = _job_or_404(request, pk)
    token = request.GET.get("next_token") or None
    lines, error, unsupported = [], None, False
    if services.has_started(job):
        try:
            page = services.read_logs(job, token)
            if page is None:
                unsupported = True
            else:
                lines, token = page.lines, page.next_token
        except ValueError:
            error = "The log position was not valid; starting again from the beginning."
            token = None
        except BackendError as exc:
            error = f"Logs are unavailable right now: {exc}"
    return render(request, "jobs/_logs.html", {
        "job": job, "lines": lines, "next_token": token or "", "error": error, "unsupported": unsupported,
        "poll": not unsupported and (job.status in JOB_MACHINE.active or bool(lines)),
    })


@login_required
@require_POST
def job_stop(request, pk):
    job = _own_job_or_404(request, pk)
    if services.stop_job(job, f"Stopped by {request.user.get_username()}"):
        messages.success(request, f"Stopping “{job.name}”.")
    else:
        messages.info(request, f"“{job.name}” is already {job.status}.")
    return redirect("jobs:detail", pk=job.pk)


@login_required
@require_POST
def job_delete(request, pk):
    job = _own_job_or_404(request, pk)
    services.delete_job(job, by=request.user)
    messages.success(request, f"Deleted “{job.name}”." + (" It is being stopped first." if job.status == Status.STOPPING else ""))
    return redirect("jobs:list")
