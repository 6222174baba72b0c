"""Catalog pages: base models (browse, detail, add custom) and datasets (list, upload, register, detail, delete)."""

import json
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from apps.backends import storage
from apps.backends.errors import BackendError, RemoteNotFound
from apps.core.job_types import JobType
from apps.users.ownership import can_change, is_admin

from . import instances, multimodal, services, sizing
from .curation import builtin_datasets
from .forms import KNOWN_TEMPLATES, BaseModelForm, DatasetRegisterForm, DatasetUploadForm
from .models import BaseModel, Dataset
from .uploads import install_size_limit, too_large_message, upload_was_too_large

FIT_USES = {"lora": gettext_lazy("LoRA training"), "qlora": gettext_lazy("QLoRA training"),
            "full": gettext_lazy("full fine-tuning"), "serve": gettext_lazy("serving")}
SIZE_BUCKETS = {
    "tiny": ("Under 2B", 0, 2),
    "small": ("2B – 10B", 2, 10),
    "medium": ("10B – 40B", 10, 40),
    "large": ("Over 40B", 40, 100_000),
}


def filter_models(queryset, params):
    """Apply the browse page's search box and filters (also used by the API)."""
    q = (params.get("q") or "").strip()
    if q:
        queryset = queryset.filter(
            Q(display_name__icontains=q) | Q(repo_id__icontains=q) | Q(family__icontains=q) | Q(key__icontains=q)
        )
    if params.get("family"):
        queryset = queryset.filter(family=params["family"])
    if params.get("modality"):
        queryset = queryset.filter(modality=params["modality"])
    if params.get("size") in SIZE_BUCKETS:
        _, low, high = SIZE_BUCKETS[params["size"]]
        queryset = queryset.filter(parameters_b__gte=low, parameters_b__lt=high)
    if params.get("custom") == "1":
        queryset = queryset.filter(is_custom=True)
    instance = instances.get(params["fits"]) if params.get("fits") else None
    if instance is not None:
        use = params.get("use") if params.get("use") in FIT_USES else "lora"
        fitting = [m.pk for m in queryset if sizing.memory_needed_gib(m.parameters_b, use) <= instance.gpu_memory_gib]
        queryset = queryset.filter(pk__in=fitting)
    return queryset


@login_required
def model_list(request):
    visible = BaseModel.objects.visible_to_user(request.user)
    models = filter_models(visible, request.GET)
    context = {
        "models": models,
        "families": visible.exclude(family="").order_by("family").values_list("family", flat=True).distinct(),
        "size_buckets": [(key, label) for key, (label, _, _) in SIZE_BUCKETS.items()],
        "modalities": BaseModel.Modality.choices,
        "instance_types": [t for name, t in instances.instance_types().items() if not name.startswith("ml.p2.")],
        "fit_uses": FIT_USES.items(),
        "params": request.GET,
        "total": visible.count(),
    }
    template = "catalog/_model_rows.html" if request.htmx else "catalog/model_list.html"
    return render(request, template, context)


def _visible_model_or_404(user, key) -> BaseModel:
    return get_object_or_404(BaseModel.objects.visible_to_user(user), key=key)


@login_required
def model_detail(request, key: str):
    model = _visible_model_or_404(request.user, key)
    fits = []
    for use, label in (("qlora", _("QLoRA training")), ("lora", _("LoRA training")), ("full", _("Full fine-tuning")),
                       ("serve", _("Serving"))):
        types = model.serving_instance_types() if use == "serve" else model.training_instance_types(use)
        fits.append({"use": use, "label": label, "needed": sizing.memory_needed_gib(model.parameters_b, use),
                     "types": types[:8], "more": max(0, len(types) - 8)})
    can_delete = model.is_custom and can_change(request.user, model)
    return render(request, "catalog/model_detail.html", {"model": model, "fits": fits, "can_delete": can_delete})


def create_custom_model(form: BaseModelForm, owner) -> BaseModel:
    from django.utils.text import slugify

    model = form.save(commit=False)
    base = slugify(f"{owner.username}-{model.display_name}")[:90] or "custom"
    key, n = base, 1
    while BaseModel.objects.filter(key=key).exists():
        n += 1
        key = f"{base}-{n}"
    model.key, model.owner, model.is_custom = key, owner, True
    model.save()
    return model


@login_required
def model_add(request):
    form = BaseModelForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        model = create_custom_model(form, request.user)
        messages.success(request, _("Added “%(name)s” to your catalog.") % {"name": model.display_name})
        return redirect(model.get_absolute_url())
    return render(request, "catalog/model_form.html", {"form": form, "templates": KNOWN_TEMPLATES},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def model_delete(request, key: str):
    model = _visible_model_or_404(request.user, key)
    if not (model.is_custom and can_change(request.user, model)):
        raise Http404("Curated models are edited in the admin.")
    model.delete()
    messages.success(request, _("Removed “%(name)s”.") % {"name": model.display_name})
    return redirect("catalog:models")


# Datasets


def _visible_dataset_or_404(user, pk) -> Dataset:
    return get_object_or_404(Dataset.objects.visible_to_user(user).select_related("owner", "base_model"), pk=pk)


@login_required
def dataset_list(request):
    datasets = Dataset.objects.visible_to_user(request.user).select_related("owner")
    show = request.GET.get("show", "mine")
    if show == "builtin":
        datasets = datasets.filter(source=Dataset.Source.BUILTIN)
    else:
        datasets = datasets.exclude(source=Dataset.Source.BUILTIN)
    job_type = request.GET.get("job_type", "")
    if job_type in JobType.values:
        datasets = datasets.compatible_with(job_type)
    page = Paginator(datasets, 50).get_page(request.GET.get("page"))
    return render(request, "catalog/dataset_list.html", {
        "page": page, "show": show, "job_type": job_type, "job_types": JobType.choices,
    })


def _upload_error_response(request, form, status=400):
    if request.headers.get("accept", "").startswith("application/json"):
        errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
        return JsonResponse({"code": "validation_error", "message": "The upload was refused.", "errors": errors},
                            status=status)
    return render(request, "catalog/dataset_upload.html", {"form": form}, status=status)


@csrf_exempt
def dataset_upload(request):
    # The size check must be installed before the CSRF check reads the body, hence csrf_protect inside.
    if request.method == "POST":
        install_size_limit(request)
    return _dataset_upload(request)


@csrf_protect
@login_required
def _dataset_upload(request):
    form = DatasetUploadForm(user=request.user)
    if request.method != "POST":
        return render(request, "catalog/dataset_upload.html", {"form": form})
    form = DatasetUploadForm(request.POST, request.FILES, user=request.user)
    if upload_was_too_large(request):
        form.is_valid()
        form.errors.pop("file", None)
        form.add_error("file", too_large_message())
        return _upload_error_response(request, form, status=413)
    if not form.is_valid():
        return _upload_error_response(request, form)
    data = form.cleaned_data
    try:
        dataset = services.create_from_upload(
            owner=request.user, name=data["name"], uploaded_file=data["file"], description=data["description"],
            base_model=data["base_model"], cutoff_len=data["cutoff_len"], val_fraction=data["val_fraction"],
        )
    except services.DatasetInputError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _upload_error_response(request, form)
    except BackendError as exc:
        form.add_error(None, f"Could not store the file: {exc}")
        return _upload_error_response(request, form, status=502)
    url = dataset.get_absolute_url()
    if request.headers.get("accept", "").startswith("application/json"):
        return JsonResponse({"id": dataset.pk, "status": dataset.status, "url": url}, status=201)
    return redirect(url)


@login_required
def dataset_register(request):
    form = DatasetRegisterForm(request.POST or None, user=request.user,
                               initial={"source": request.GET.get("source", "s3")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            dataset = services.register(
                owner=request.user, name=data["name"], source=data["source"], source_uri=data["source_uri"],
                fmt=data.get("format") or "", description=data["description"], base_model=data["base_model"],
                cutoff_len=data["cutoff_len"], val_fraction=data["val_fraction"],
            )
        except services.DatasetInputError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Registered “%(name)s”.") % {"name": dataset.name})
            return redirect(dataset.get_absolute_url())
    return render(request, "catalog/dataset_register.html",
                  {"form": form, "builtins": builtin_datasets()}, status=400 if form.errors else 200)


def _detail_context(request, dataset):
    ready = dataset.status == Dataset.Status.READY
    entry = dataset.llamafactory_entry() if ready else None
    easyr1 = None
    if ready and dataset.format == Dataset.Format.PROMPT_ANSWER:
        from .staging import easyr1_config

        folder = (dataset.staged or {}).get("s3") or (dataset.staged or {}).get("local") or "<staged folder>/"
        easyr1 = json.dumps(easyr1_config(dataset, folder), indent=2)
    return {
        "easyr1_json": easyr1,
        "dataset": dataset,
        "report": dataset.report or {},
        "stats": dataset.stats or {},
        "entry_json": json.dumps({dataset.llamafactory_name: entry}, indent=2, ensure_ascii=False) if entry else "",
        "preview_json": [
            {**item, "json": json.dumps(item.get("data"), indent=2, ensure_ascii=False)} for item in dataset.preview
        ],
        "job_type_labels": [JobType(t).label for t in dataset.job_types if t in JobType.values],
        "can_delete": can_change(request.user, dataset),  # the owner or an admin, never a user it is shared with
        "can_share": is_admin(request.user),
    }


@login_required
def dataset_detail(request, pk: int):
    dataset = _visible_dataset_or_404(request.user, pk)
    context = _detail_context(request, dataset)
    if request.htmx and request.GET.get("part") == "status":
        response = render(request, "catalog/_dataset_status.html", context)
        if dataset.status != Dataset.Status.VALIDATING:
            response["HX-Refresh"] = "true"  # the report, statistics and preview are now there: show them
        return response
    return render(request, "catalog/dataset_detail.html", context)


_THUMBNAIL_NAME = re.compile(r"row[0-9]{1,12}-[0-9]{1,3}\.webp")


@login_required
def dataset_thumbnail(request, pk: int, name: str):
    """A preview thumbnail, to those who may see the dataset (others get 404 like for the dataset itself)."""
    dataset = _visible_dataset_or_404(request.user, pk)
    known = {t["name"] for item in dataset.preview for t in item.get("thumbs", [])}
    if not _THUMBNAIL_NAME.fullmatch(name) or name not in known or not dataset.storage_uri:
        raise Http404("No such thumbnail.")
    try:
        with storage.local_copy(multimodal.thumbnail_uri(dataset, name)) as path:
            data = path.read_bytes()  # a few kilobytes
    except (FileNotFoundError, RemoteNotFound):
        raise Http404("No such thumbnail.") from None
    response = HttpResponse(data, content_type="image/webp")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def dataset_delete(request, pk: int):
    dataset = _visible_dataset_or_404(request.user, pk)
    if not can_change(request.user, dataset):
        raise Http404("No dataset matches the given query.")  # shared with you, not yours: not deletable
    if request.method == "POST":
        name = dataset.name
        try:
            dataset.delete()
        except BackendError as exc:
            messages.error(request, _("Could not remove the stored files, so the dataset was kept: %(error)s") % {"error": exc})
            return redirect(dataset.get_absolute_url())
        messages.success(request, _("Deleted “%(name)s” and the files ModelHub stored for it.") % {"name": name})
        return redirect("catalog:datasets")
    return render(request, "catalog/dataset_confirm_delete.html", {"dataset": dataset})


@login_required
@require_POST
def dataset_share(request, pk: int):
    if not is_admin(request.user):
        raise Http404
    dataset = _visible_dataset_or_404(request.user, pk)
    dataset.shared = request.POST.get("shared") == "1"
    dataset.save(update_fields=["shared"])
    dataset.record_event("Shared with all users." if dataset.shared else "No longer shared.")
    messages.success(request, (_("“%(name)s” is now shared with all users.") if dataset.shared
                                else _("“%(name)s” is private again.")) % {"name": dataset.name})
    return redirect(reverse("catalog:dataset-detail", args=[dataset.pk]))
