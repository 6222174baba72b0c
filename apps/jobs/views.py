"""Job pages: list, create form, detail, and their live htmx parts."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from apps.backends.errors import BackendError
from apps.catalog import instances
from apps.catalog.models import BaseModel, Dataset
from apps.core import limits
from apps.core.job_types import JobType
from apps.core.quotas import QuotaExceeded
from apps.users.ownership import get_changeable_or_404, get_visible_or_404, is_admin, visible_to

from . import services, target_rules
from .forms import JobForm
from .forms import _label as label_for
from .listing import ORDERINGS, filter_jobs
from .models import JOB_MACHINE, Status, TrainingJob, default_target
from .preview import preview
from .serializers import spec_as_input

PAGE_SIZE = 25
SORTABLE = {"name": gettext_lazy("Name"), "job_type": gettext_lazy("Type"), "status": gettext_lazy("Status"),
            "created_at": gettext_lazy("Created")}


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
    return BaseModel.objects.visible_to_user(user).order_by("is_custom", "family", "parameters_b").only(
        "key", "display_name", "family", "parameters_b", "repo_id", "is_custom")


ADVANCED_OPEN = "job_form_advanced"  # the user's preference key: is the form's Advanced part open


@login_required
def job_new(request):
    job_type = request.POST.get("job_type") or request.GET.get("job_type") or JobType.SFT
    if job_type not in JobType.values:
        job_type = JobType.SFT
    if request.method == "POST":
        form = JobForm(request.POST, job_type=job_type, user=request.user)
        new = form.validate(request.user)
        if new is not None:
            try:
                job = services.create_job(request.user, new.name, new.spec.to_dict(), target=new.target)
            except QuotaExceeded as exc:
                form.add_error(None, str(exc))
            else:
                # Neutral: the submission may already have failed by the time the page shows; its status says which.
                messages.info(request, _("Created job “%(name)s”. Its status below is kept up to date.") % {"name": job.name})
                return redirect("jobs:detail", pk=job.pk)
    else:
        initial = {}
        source_id = request.GET.get("from")
        if limits.parse_id(source_id) is not None:
            source = _job_or_404(request, limits.parse_id(source_id))
            job_type = source.job_type
            initial = spec_as_input(source.spec) | {"name": f"{source.name} (copy)"[:100]}
        for prefill in ("name", "base_model"):  # links such as "Fine-tune" on a catalog model's page
            if request.GET.get(prefill):
                initial[prefill] = request.GET[prefill]
        form = JobForm(initial=initial, job_type=job_type, user=request.user)
    values = form.data if form.is_bound else {**form.initial}
    estimate = _estimate(values.get("instance_type"), values.get("instance_count") or 1, values.get("max_run_hours"))
    advanced_open = bool(request.user.preferences.get(ADVANCED_OPEN)) or (form.is_bound and form.advanced_has_errors())
    target = default_target()
    context = {"form": form, "job_type": job_type, "estimate": estimate, "catalog_models": _catalog_models(request.user),
               "advanced_open": advanced_open,
               "target_help": target_rules.help_text(target)}  # what the target runs differently (GRPO on TRL locally)
    return render(request, "jobs/new.html", context, status=400 if form.is_bound else 200)


@login_required
@require_POST
def job_preview(request):
    """The form's values validated and rendered as the submit would render them (an htmx partial)."""
    job_type = request.POST.get("job_type")
    if job_type not in JobType.values:
        job_type = JobType.SFT
    form = JobForm(request.POST, job_type=job_type, user=request.user)
    new = form.validate(request.user)
    errors = [(form[name].label if name in form.fields else "", message)
              for name, messages in form.errors.items() for message in messages]
    return render(request, "jobs/_preview.html", {"preview": preview(new) if new else None, "errors": errors})


@login_required
@require_POST
def form_advanced(request):
    """Remember whether the user keeps the job form's Advanced part open."""
    request.user.preferences = {**request.user.preferences, ADVANCED_OPEN: request.POST.get("open") == "1"}
    request.user.save(update_fields=["preferences"])
    return HttpResponse(status=204)


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
    ids = [i for i in map(limits.parse_id, spec.get("datasets") or []) if i is not None]
    names = dict(Dataset.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    rows = []
    for key, value in spec.items():
        if value in (None, "", []):
            continue
        if key == "datasets":
            value = [names.get(limits.parse_id(v), v) for v in value]
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
            error = _("The log position was not valid; starting again from the beginning.")
            token = None
        except BackendError as exc:
            error = _("Logs are unavailable right now: %(error)s") % {"error": exc}
    return render(request, "jobs/_logs.html", {
        "job": job, "lines": lines, "next_token": token or "", "error": error, "unsupported": unsupported,
        "poll": not unsupported and (job.status in JOB_MACHINE.active or bool(lines)),
    })


@login_required
@require_POST
def job_stop(request, pk):
    job = _own_job_or_404(request, pk)
    if services.stop_job(job, f"Stopped by {request.user.get_username()}"):
        messages.success(request, _("Stopping “%(name)s”.") % {"name": job.name})
    else:
        messages.info(request, _("“%(name)s” is already %(status)s.") % {"name": job.name, "status": _(job.status_display)})
    return redirect("jobs:detail", pk=job.pk)


@login_required
@require_POST
def job_delete(request, pk):
    job = _own_job_or_404(request, pk)
    services.delete_job(job, by=request.user)
    messages.success(request, _("Deleted “%(name)s”. It is being stopped first.") % {"name": job.name} if job.status == Status.STOPPING
                     else _("Deleted “%(name)s”.") % {"name": job.name})
    return redirect("jobs:list")
