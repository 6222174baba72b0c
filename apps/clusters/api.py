"""/api/v1/clusters/: every signed-in user lists and reads clusters (they deploy to them); admins
register, change and remove them."""

from django.db import transaction
from rest_framework import permissions, status, viewsets
from rest_framework.response import Response

from apps.core.api import error_body
from apps.users.ownership import IsAdmin

from . import services
from .models import Cluster
from .serializers import ClusterSerializer


class ClusterViewSet(viewsets.ModelViewSet):
    queryset = Cluster.objects.select_related("owner")
    serializer_class = ClusterSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return [permissions.IsAuthenticated()]
        return [IsAdmin()]

    def perform_create(self, serializer):
        with transaction.atomic():
            cluster = serializer.save(owner=self.request.user)
            services.registered(cluster)

    def perform_update(self, serializer):
        with transaction.atomic():
            services.settings_changed(serializer.save())

    def destroy(self, request, *args, **kwargs):
        cluster = self.get_object()
        try:
            services.remove(cluster)
        except services.ClusterInUse as exc:
            return Response(error_body("conflict", str(exc)), status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)
