"""Catalog API: /api/v1/models/ and /api/v1/datasets/.

Input is validated by the same forms as the pages; errors come back as the one API error body
(400 with field errors). Datasets of other users are 404.
"""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from apps.backends.errors import BackendError
from apps.core.parsers import BoundedJSONParser
from apps.users.ownership import can_change, is_admin

from . import services, sizing
from .forms import BaseModelForm, DatasetRegisterForm, DatasetUploadForm
from .models import BaseModel, Dataset
from .uploads import install_size_limit, too_large_message, upload_was_too_large
from .views import create_custom_model, filter_models


def _form_errors(form) -> ValidationError:
    return ValidationError({field if field != "__all__" else "non_field_errors": [str(e) for e in errors]
                            for field, errors in form.errors.items()})


class InstanceFitSerializer(serializers.Serializer):
    name = serializers.CharField()
    gpu_count = serializers.IntegerField()
    gpu_name = serializers.CharField()
    gpu_memory_gib = serializers.FloatField()
    hourly_usd = serializers.FloatField(allow_null=True)


class BaseModelSerializer(serializers.ModelSerializer):
    source_uri = serializers.CharField(read_only=True)
    owner = serializers.CharField(source="owner.username", default=None, read_only=True)

    class Meta:
        model = BaseModel
        fields = ["key", "display_name", "repo_id", "s3_uri", "source_uri", "template", "parameters_b",
                  "context_length", "lora_targets", "license", "modality", "family", "description", "is_custom",
                  "owner"]


class BaseModelDetailSerializer(BaseModelSerializer):
    instance_types = serializers.SerializerMethodField()

    class Meta(BaseModelSerializer.Meta):
        fields = [*BaseModelSerializer.Meta.fields, "instance_types"]

    @extend_schema(responses=inline_serializer("InstanceTypesByUse", {
        use: serializers.DictField() for use in ("lora", "qlora", "full", "serve")}))
    def get_instance_types(self, obj) -> dict:
        result = {}
        for use in ("lora", "qlora", "full", "serve"):
            types = obj.serving_instance_types() if use == "serve" else obj.training_instance_types(use)
            result[use] = {
                "memory_needed_gib": sizing.memory_needed_gib(obj.parameters_b, use),
                "instance_types": InstanceFitSerializer(
                    [{**t.__dict__, "gpu_memory_gib": round(t.gpu_memory_gib, 1)} for t in types], many=True
                ).data,
            }
        return result


@extend_schema(tags=["catalog"])
class BaseModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                       viewsets.GenericViewSet):
    """Base models: the curated catalogue plus your custom entries."""

    lookup_field = "key"
    parser_classes = [BoundedJSONParser, FormParser, MultiPartParser]

    def get_queryset(self):
        return filter_models(BaseModel.objects.visible_to_user(self.request.user), self.request.query_params)

    def get_serializer_class(self):
        return BaseModelDetailSerializer if self.action == "retrieve" else BaseModelSerializer

    @extend_schema(parameters=[
        OpenApiParameter("q", str, description="Search name, repo id, family"),
        OpenApiParameter("family", str), OpenApiParameter("modality", str, enum=["text", "vision"]),
        OpenApiParameter("size", str, enum=["tiny", "small", "medium", "large"]),
        OpenApiParameter("fits", str, description="Only models that fit this instance type, e.g. ml.g5.2xlarge"),
        OpenApiParameter("use", str, enum=["lora", "qlora", "full", "serve"], description="What `fits` checks (lora)"),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=BaseModelSerializer, responses={201: BaseModelSerializer},
                   summary="Add a custom base model (HF repo id or S3 prefix)")
    def create(self, request):
        data = request.data.copy() if hasattr(request.data, "copy") else dict(request.data)
        if isinstance(data.get("lora_targets"), list):
            data["lora_targets"] = ",".join(map(str, data["lora_targets"]))
        form = BaseModelForm(data, user=request.user)
        if not form.is_valid():
            raise _form_errors(form)
        model = create_custom_model(form, request.user)
        return Response(BaseModelSerializer(model).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        user = self.request.user
        if not (is_admin(user) or (instance.is_custom and instance.owner_id == user.pk)):
            raise PermissionDenied("Curated models can only be changed by admins.")
        instance.delete()


class DatasetSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", default=None, read_only=True)
    base_model = serializers.CharField(source="base_model.key", default=None, read_only=True)
    llamafactory_name = serializers.CharField(read_only=True)
    dataset_info_entry = serializers.SerializerMethodField()

    class Meta:
        model = Dataset
        fields = ["id", "name", "description", "owner", "shared", "source", "source_uri", "format", "job_types",
                  "status", "status_reason", "row_count", "stats", "file_name", "file_type", "size_bytes",
                  "base_model", "cutoff_len", "val_fraction", "llamafactory_name", "dataset_info_entry",
                  "created_at"]
        read_only_fields = fields

    def get_dataset_info_entry(self, obj) -> dict | None:
        return obj.llamafactory_entry() if obj.status == Dataset.Status.READY else None


class DatasetUploadRequest(serializers.Serializer):
    name = serializers.CharField()
    file = serializers.FileField(help_text="A data file (.jsonl, .json, .csv, .parquet), or a .zip / .tar.gz holding "
                                           "one .json / .jsonl file and the images its rows name")
    description = serializers.CharField(required=False)
    base_model = serializers.CharField(required=False, help_text="Catalog model key")
    cutoff_len = serializers.IntegerField(required=False, default=2048)
    val_fraction = serializers.FloatField(required=False, default=0.0)


class DatasetRegisterRequest(serializers.Serializer):
    name = serializers.CharField()
    source = serializers.ChoiceField(choices=["s3", "hf", "builtin"])
    source_uri = serializers.CharField()
    format = serializers.ChoiceField(choices=Dataset.Format.choices, required=False)
    description = serializers.CharField(required=False)
    base_model = serializers.CharField(required=False)
    cutoff_len = serializers.IntegerField(required=False, default=2048)
    val_fraction = serializers.FloatField(required=False, default=0.0)


@extend_schema(tags=["catalog"])
class DatasetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Datasets you own plus shared ones (admins see all)."""

    serializer_class = DatasetSerializer
    parser_classes = [MultiPartParser, BoundedJSONParser, FormParser]

    def initialize_request(self, request, *args, **kwargs):
        if request.method == "POST":
            install_size_limit(request)  # before anything reads the body
        return super().initialize_request(request, *args, **kwargs)

    def get_queryset(self):
        queryset = Dataset.objects.visible_to_user(self.request.user).select_related("owner", "base_model")
        params = self.request.query_params
        if params.get("job_type"):
            queryset = queryset.compatible_with(params["job_type"])
        for field in ("status", "format", "source"):
            if params.get(field):
                queryset = queryset.filter(**{field: params[field]})
        if params.get("usable") == "1":
            queryset = queryset.filter(status=Dataset.Status.READY)
        return queryset

    @extend_schema(parameters=[
        OpenApiParameter("job_type", str, description="Only datasets this job type can train on"),
        OpenApiParameter("status", str, enum=Dataset.Status.values), OpenApiParameter("format", str),
        OpenApiParameter("source", str, enum=Dataset.Source.values),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": DatasetUploadRequest, "application/json": DatasetRegisterRequest},
        responses={201: DatasetSerializer},
        summary="Upload a file (multipart) or register an S3 prefix, Hugging Face dataset or built-in (JSON)",
    )
    def create(self, request):
        files, data = request.FILES, request.data  # parses the body, through the size check
        if upload_was_too_large(request._request):
            raise ValidationError({"file": [too_large_message()]})
        try:
            if "file" in files or request.content_type.startswith("multipart/"):
                form = DatasetUploadForm(data, files, user=request.user)
                if not form.is_valid():
                    raise _form_errors(form)
                d = form.cleaned_data
                dataset = services.create_from_upload(
                    owner=request.user, name=d["name"], uploaded_file=d["file"], description=d["description"],
                    base_model=d["base_model"], cutoff_len=d["cutoff_len"], val_fraction=d["val_fraction"],
                )
            else:
                form = DatasetRegisterForm(data, user=request.user)
                if not form.is_valid():
                    raise _form_errors(form)
                d = form.cleaned_data
                dataset = services.register(
                    owner=request.user, name=d["name"], source=d["source"], source_uri=d["source_uri"],
                    fmt=d.get("format") or "", description=d["description"], base_model=d["base_model"],
                    cutoff_len=d["cutoff_len"], val_fraction=d["val_fraction"],
                )
        except services.DatasetInputError as exc:
            raise ValidationError({exc.field: [exc.message]}) from None
        except BackendError as exc:
            return Response({"code": "storage_unavailable", "message": f"Could not store the data: {exc}"},
                            status=status.HTTP_503_SERVICE_UNAVAILABLE)
        dataset.refresh_from_db()
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)

    def _deletable(self, dataset) -> bool:
        return can_change(self.request.user, dataset)

    @extend_schema(request=inline_serializer("DatasetShare", {"shared": serializers.BooleanField()}),
                   responses=DatasetSerializer, summary="Share with all users, or stop sharing (admins only)")
    def partial_update(self, request, pk=None):
        dataset = self.get_object()
        if not is_admin(request.user):
            raise PermissionDenied("Only admins can share datasets.")
        value = request.data.get("shared")
        if not isinstance(value, bool):
            raise ValidationError({"shared": ["Send true or false."]})
        dataset.shared = value
        dataset.save(update_fields=["shared"])
        return Response(DatasetSerializer(dataset).data)

    @extend_schema(responses={204: None}, summary="Delete the dataset and the files ModelHub stored for it")
    def destroy(self, request, pk=None):
        dataset = self.get_object()
        if not self._deletable(dataset):
            raise Http404  # shared with you, not yours
        try:
            dataset.delete()
        except BackendError as exc:
            return Response({"code": "storage_error", "message": f"Could not remove the stored files: {exc}"},
                            status=status.HTTP_502_BAD_GATEWAY)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=inline_serializer("DatasetPreview", {
        "rows": serializers.ListField(child=serializers.DictField()), "rendered": serializers.DictField()}))
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """The first rows as stored, and one rendered through a ChatML-style template."""
        dataset = self.get_object()
        return Response({"rows": dataset.preview, "rendered": (dataset.report or {}).get("rendered")})

    @extend_schema(responses=inline_serializer("DatasetReport", {
        "status": serializers.CharField(), "status_reason": serializers.CharField(),
        "report": serializers.DictField(), "stats": serializers.DictField()}))
    @action(detail=True, methods=["get"])
    def report(self, request, pk=None):
        """The validation report (problems by row number) and the statistics."""
        dataset = self.get_object()
        return Response({"status": dataset.status, "status_reason": dataset.status_reason,
                         "report": dataset.report, "stats": dataset.stats})
