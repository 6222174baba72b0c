"""Endpoint pages: list, deploy form (+ live memory-fit preview), detail, scale, delete."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.backends import registry
from apps.backends.base import Capability, supports
from apps.backends.errors import BackendError, RemoteNotConfigured, RemoteNotFound, TransientError
from apps.chat.model_ids import adapter_models
from apps.core.quotas import QuotaExceeded
from apps.users.ownership import get_changeable_or_404, get_visible_or_404, is_admin, visible_to

from . import forms, services, snippets
from .deployment import ref
from .models import MOVING_STATUSES, Endpoint, Status
from .serializers import ScaleSerializer, validate_deploy


# Errors worth showing next to the fit preview (the rest show inline on submit).
FIT_FIELDS = ("job", "base_model", "model_uri", "parameters_b", "instance_type", "tensor_parallel_size",
              "max_model_len", "dtype", "quantization")


def _endpoints(user):
    return visible_to(Endpoint.objects.select_related("owner"), user)


def _url(name: str, *args) -> str:
    """A URL of another app's page, or '' while that app has not wired it."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _job_url(job_id) -> str:
    return _url("jobs:detail", job_id)


@login_required
@require_GET
def endpoint_list(request):
    status_filter = request.GET.get("status", "")
    queryset = _endpoints(request.user)
    queryset = queryset.filter(status=status_filter) if status_filter in Status.values else queryset.live()
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    endpoints = list(page.object_list)
    for endpoint in endpoints:
        endpoint.job_url = _job_url(endpoint.job_id) if endpoint.job_id else ""
    context = {
        "endpoints": endpoints, "page_obj": page, "status_filter": status_filter if status_filter in Status.values else "",
        "status_choices": Status.choices, "any_moving": any(e.status in MOVING_STATUSES for e in endpoints),
        "show_owner": is_admin(request.user),
    }
    template = "endpoints/_list_rows.html" if request.htmx else "endpoints/list.html"
    return render(request, template, context)


@login_required
def endpoint_new(request):
    """The deploy form. Validation is validate_deploy's (the API's too); errors show inline."""
    if request.method == "POST":
        deploy = validate_deploy(forms.request_values(request.POST), request.user)
        errors = dict(deploy.errors)
        if deploy.ok:
            try:
                endpoint = services.create_endpoint(request.user, **deploy.value.create_kwargs())
            except IntegrityError:
                errors["name"] = ["An endpoint with this name already exists; choose another name."]
            except QuotaExceeded as exc:
                errors["quota"] = [str(exc)]
            else:
                if endpoint.api_key:  # shown on this response only; never again
                    response = render(request, "endpoints/created.html",
                                      {"endpoint": endpoint, "api_key": endpoint.api_key}, status=201)
                    add_never_cache_headers(response)
                    return response
                # Neutral: the deployment may already have failed by the time the page shows; its status says which.
                messages.info(request, _("Created endpoint “%(name)s”. Its status below updates by itself.") % {"name": endpoint.name})
                return redirect("endpoints:detail", endpoint.pk)
        form = forms.DeployForm(request.user, data=request.POST, errors=errors)
        status = 400
        fit_result, notes = deploy.fit, deploy.notes
    else:
        form = forms.DeployForm(request.user, initial=forms.initial_values(request.user, request.GET))
        status, fit_result, notes = 200, None, []
    return render(request, "endpoints/new.html", {"form": form, "fit": fit_result, "notes": notes}, status=status)


@login_required
@require_POST
def fit_preview(request):
    """htmx: the memory-fit verdict and resolved defaults for the form's current values."""
    deploy = validate_deploy(forms.request_values(request.POST), request.user)
    errors = {f: m for f, m in forms.form_errors(deploy.errors).items() if f in FIT_FIELDS}
    return render(request, "endpoints/_fit.html", {"fit": deploy.fit, "notes": deploy.notes,
                                                   "errors": errors, "spec": deploy.value and deploy.value.spec})


def _detail_context(request, endpoint: Endpoint) -> dict:
    events = list(endpoint.events.order_by("-created_at", "-id")[:100])
    labels = dict(Status.choices)
    for event in events:
        event.status_label = labels.get(event.data.get("to"), "") if event.kind == "status" else ""
    log_tail = next((e for e in events if e.data.get("log_tail")), None) if endpoint.status == Status.FAILED else None
    backend = _backend(endpoint)
    return {
        "endpoint": endpoint,
        "events": events,
        "log_tail_event": log_tail,
        "job_url": _job_url(endpoint.job_id) if endpoint.job_id else "",
        "snippets": snippets.snippets_for(endpoint, settings.SITE_URL, settings.AWS_REGION),
        "scale_form": forms.ScaleForm(endpoint=endpoint),
        "moving": endpoint.is_moving,
        "playground_url": _url("chat:playground"),
        "adapters": adapter_models(endpoint),
        "target_label": backend.label if backend else endpoint.get_target_display(),
        "has_logs": supports(backend, Capability.LOGS),
        "has_scaling": supports(backend, Capability.SCALING),
    }


@login_required
@require_GET
def endpoint_detail(request, pk: int):
    endpoint = get_visible_or_404(_endpoints(request.user), request.user, pk=pk)
    return render(request, "endpoints/detail.html", _detail_context(request, endpoint))


@login_required
@require_GET
def endpoint_live(request, pk: int):
    """htmx: the status card and timeline, polled while the endpoint is moving."""
    endpoint = get_visible_or_404(_endpoints(request.user), request.user, pk=pk)
    return render(request, "endpoints/_live.html", _detail_context(request, endpoint))


def _backend(endpoint):
    """The endpoint's serving backend, or None when this installation has none for its target."""
    try:
        return registry.serving_backend(endpoint.target)
    except registry.UnknownBackend:
        return None


@login_required
@require_GET
def endpoint_logs(request, pk: int):
    """htmx: the latest lines of the endpoint's logs, read from the target on demand."""
    endpoint = get_visible_or_404(_endpoints(request.user), request.user, pk=pk)
    lines, source, error, raw_error = [], "", "", ""
    backend = _backend(endpoint)
    if not endpoint.remote_name or not supports(backend, Capability.LOGS):
        error = _("No logs for this endpoint.")
    else:
        try:
            page = backend.logs(ref(endpoint), limit=200)
            lines, source = page.lines, page.source
        except BackendError as exc:
            error, raw_error = logs_problem(exc), str(exc)
    return render(request, "endpoints/_logs.html",
                  {"endpoint": endpoint, "lines": lines, "source": source, "error": error, "raw_error": raw_error})


def logs_problem(exc: BackendError) -> str:
    """What the logs card says, in the user's language, when the target cannot give the logs; the target's own
    (English) message is shown beside it as it came."""
    if isinstance(exc, RemoteNotConfigured):
        return _("ModelHub has no usable cloud credentials, so it cannot read the logs. An administrator sets them "
                 "for the web server and workers.")
    if isinstance(exc, RemoteNotFound):
        return _("No log lines yet. They appear once an instance has started.")
    if isinstance(exc, TransientError):
        return _("The logs could not be reached just now; try again in a moment.")
    return _("Could not read the logs.")


@login_required
@require_POST
def endpoint_scale(request, pk: int):
    endpoint = get_changeable_or_404(_endpoints(request.user), request.user, pk=pk)
    form = forms.ScaleForm(endpoint=endpoint, data=request.POST)
    serializer = ScaleSerializer(data=form.payload())
    if serializer.is_valid():
        try:
            services.request_scale(endpoint, **serializer.validated_data)
        except (services.EndpointStateError, QuotaExceeded) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, services.scale_description(endpoint.instance_count, endpoint.autoscaling))
        return redirect("endpoints:detail", endpoint.pk)
    form.add_serializer_errors(serializer.errors)
    context = _detail_context(request, endpoint)
    context["scale_form"] = form
    return render(request, "endpoints/detail.html", context, status=400)


@login_required
def endpoint_delete(request, pk: int):
    """GET: a confirmation page; POST with the endpoint's name typed: delete."""
    endpoint = get_changeable_or_404(_endpoints(request.user), request.user, pk=pk)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm_name", "").strip() != endpoint.name:
            error = _("Type the endpoint's name exactly to confirm.")
        else:
            try:
                services.request_delete(endpoint)
            except services.EndpointStateError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("Deleting “%(name)s”. Billing stops once the target has removed it.") % {"name": endpoint.name})
            return redirect("endpoints:detail", endpoint.pk)
    return render(request, "endpoints/delete.html", {"endpoint": endpoint, "error": error}, status=400 if error else 200)
