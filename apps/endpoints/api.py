"""/api/v1/endpoints/: list, create, get, patch (instance count, autoscaling), delete, events."""

from django.db import IntegrityError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.core.api import error_body
from apps.users.ownership import IsOwnerOrAdmin, OwnedQuerysetMixin

from . import services
from .models import Endpoint, Status
from .serializers import EndpointEventSerializer, EndpointSerializer, ScaleSerializer, SourceSerializer, validate_deploy
from .spec import DeploySpecSerializer


def _conflict(exc: Exception) -> Response:
    return Response(error_body("conflict", str(exc)), status=status.HTTP_409_CONFLICT)


class EndpointCreateRequest(SourceSerializer, DeploySpecSerializer):
    """The create body for the API schema: the source fields and the DeploySpec fields, flat.
    Validation is validate_deploy's."""


class EndpointViewSet(OwnedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsOwnerOrAdmin]
    queryset = Endpoint.objects.select_related("owner", "base_model")
    serializer_class = EndpointSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            wanted = [s for s in self.request.query_params.get("status", "").split(",") if s in Status.values]
            queryset = queryset.filter(status__in=wanted) if wanted else queryset.live()
        return queryset

    @extend_schema(parameters=[OpenApiParameter(
        "status", str, description="Comma list of statuses (" + ", ".join(Status.values) + "); default: all but deleted.")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=EndpointCreateRequest, responses={201: EndpointSerializer},
                   description="Deploy a model: the source (a succeeded job, a catalog model, an HF repo id or an S3 "
                               "prefix) plus a DeploySpec. Invalid requests get 400 with field errors and create nothing. "
                               "On a target that wants an API key, the response carries `api_key`, the only time it "
                               "is shown.")
    def create(self, request):
        deploy = validate_deploy(request.data, request.user)
        new = deploy.or_raise()
        try:
            endpoint = services.create_endpoint(request.user, **new.create_kwargs())
        except IntegrityError as exc:
            raise ValidationError({"name": ["An endpoint with this name already exists; choose another name."]}) from exc
        data = EndpointSerializer(endpoint).data
        if endpoint.api_key:  # the only response that carries it (the target wants it with every request)
            data["api_key"] = endpoint.api_key
        if deploy.notes:
            data["notes"] = list(deploy.notes)
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ScaleSerializer, responses={202: EndpointSerializer, 403: None, 409: None},
                   description="Change the instance count and/or autoscaling (null turns it off) of an endpoint in "
                               "service. 403 `quota_exceeded` when the extra instances would pass your quota.")
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        scale = ScaleSerializer(data=request.data)
        scale.is_valid(raise_exception=True)
        try:
            services.request_scale(endpoint, **scale.validated_data)
        except services.EndpointStateError as exc:
            return _conflict(exc)
        return Response(EndpointSerializer(endpoint).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={202: EndpointSerializer, 409: None},
                   description="Delete the endpoint and everything it created remotely (asynchronously).")
    def destroy(self, request, pk=None):
        endpoint = self.get_object()
        try:
            services.request_delete(endpoint)
        except services.EndpointStateError as exc:
            return _conflict(exc)
        return Response(EndpointSerializer(endpoint).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=EndpointEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        endpoint = self.get_object()
        page = self.paginate_queryset(endpoint.events.order_by("created_at", "id"))
        return self.get_paginated_response(EndpointEventSerializer(page, many=True).data)
