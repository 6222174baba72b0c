"""/api/v1/jobs/: list, create, get, delete, stop, clone, logs, metrics, events."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.backends.errors import BackendError, TransientError
from apps.core.api import error_body
from apps.users.ownership import IsOwnerOrAdmin, OwnedQuerysetMixin

from . import openapi, services
from .listing import ORDERINGS, filter_jobs
from .models import Status, TrainingJob
from .serializers import (
    JobEventSerializer,
    TrainingJobListSerializer,
    TrainingJobSerializer,
    spec_as_input,
    validate_job,
)

def _backend_error(exc: BackendError) -> Response:
    code = status.HTTP_503_SERVICE_UNAVAILABLE if isinstance(exc, TransientError) else status.HTTP_502_BAD_GATEWAY
    return Response(error_body("backend_error", str(exc)), status=code)


LIST_PARAMETERS = [
    OpenApiParameter("status", str, description="Comma list of statuses: " + ", ".join(Status.values)),
    OpenApiParameter("job_type", str, description="Comma list of job types (sft, pt, ppo, dpo, kto, rm, grpo, dapo, gspo, cispo)."),
    OpenApiParameter("owner", str, description="Owner's username (admins only)."),
    OpenApiParameter("search", str, description="Part of the job's name or remote name."),
    OpenApiParameter("ordering", str, enum=list(ORDERINGS), description="Sort key; default -created_at."),
]


class TrainingJobViewSet(OwnedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         mixins.DestroyModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsOwnerOrAdmin]
    viewer_actions = ("clone",)  # a job shared with you is cloned into your own
    queryset = TrainingJob.objects.alive().select_related("owner")

    def get_serializer_class(self):
        return TrainingJobListSerializer if self.action == "list" else TrainingJobSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            queryset = filter_jobs(queryset.defer("spec"), self.request.query_params, self.request.user)
        return queryset

    @extend_schema(parameters=LIST_PARAMETERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=openapi.create_request(), responses={201: TrainingJobSerializer},
                   description="Create a job from a name and a TrainingSpec. Omitted fields take the job type's "
                               "defaults; fields that do not apply to the job type are ignored.")
    def create(self, request):
        new = validate_job(request.data, request.user).or_raise()
        job = services.create_job(request.user, new.name, new.spec.to_dict(), target=new.target)
        return Response(TrainingJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(description="Hide the job (its history is kept); a job that may still run is stopped first.")
    def destroy(self, request, *args, **kwargs):
        services.delete_job(self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: TrainingJobSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        job = self.get_object()
        if not services.stop_job(job, f"Stopped by {request.user.get_username()}"):
            return Response(error_body("conflict", f"The job is already {job.status}."), status=status.HTTP_409_CONFLICT)
        return Response(TrainingJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=inline_serializer("CloneRequest", {"name": serializers.CharField(required=False)}),
                   responses={201: TrainingJobSerializer})
    @action(detail=True, methods=["post"])
    def clone(self, request, pk=None):
        source = self.get_object()
        data = spec_as_input(source.spec)
        data["name"] = request.data.get("name") or f"{source.name} (copy)"[:100]
        new = validate_job(data, request.user).or_raise()
        job = services.create_job(request.user, new.name, new.spec.to_dict(), target=new.target)
        job.record_event(f"Cloned from job {source.pk}", data={"source": source.pk})
        return Response(TrainingJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("next_token", str, description="The next_token of the previous page.")],
        responses=inline_serializer("JobLogPage", {
            "lines": inline_serializer("JobLogLine", {
                "timestamp": serializers.DateTimeField(), "message": serializers.CharField(),
                "stream": serializers.CharField()}, many=True),
            "next_token": serializers.CharField(allow_null=True),
        }),
    )
    @action(detail=True, methods=["get"])
    def logs(self, request, pk=None):
        job = self.get_object()
        token = request.query_params.get("next_token") or None
        if not services.has_started(job):
            return Response({"lines": [], "next_token": token})
        try:
            page = services.read_logs(job, token)
        except ValueError as exc:
            raise ValidationError({"next_token": [str(exc)]}) from exc
        except BackendError as exc:
            return _backend_error(exc)
        if page is None:  # the job's target keeps no logs
            return Response({"lines": [], "next_token": None})
        return Response({
            "lines": [{"timestamp": line.timestamp, "message": line.message, "stream": line.stream} for line in page.lines],
            "next_token": page.next_token,
        })

    @extend_schema(responses=inline_serializer("JobMetrics", {
        "records": serializers.ListField(child=serializers.DictField()),
        "progress": inline_serializer("JobProgress", {
            "step": serializers.IntegerField(allow_null=True), "total_steps": serializers.IntegerField(allow_null=True),
            "percentage": serializers.FloatField(allow_null=True), "eta_seconds": serializers.IntegerField(allow_null=True)}),
    }))
    @action(detail=True, methods=["get"])
    def metrics(self, request, pk=None):
        job = self.get_object()
        records = services.refresh_metrics(job) if services.has_started(job) else []
        return Response({"records": records, "progress": {
            "step": job.step, "total_steps": job.total_steps, "percentage": job.percentage, "eta_seconds": job.eta_seconds,
        }})

    @extend_schema(responses=JobEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        job = self.get_object()
        page = self.paginate_queryset(job.events.order_by("created_at", "id"))
        return self.get_paginated_response(JobEventSerializer(page, many=True).data)
