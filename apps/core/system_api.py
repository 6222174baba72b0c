from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from apps.users.ownership import IsAdmin

from .models import WorkerPing
from .tasks import worker_ping


class WorkerPingSerializer(serializers.ModelSerializer):
    round_trip_ms = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = WorkerPing
        fields = ["id", "created_at", "completed_at", "worker", "round_trip_ms"]


@extend_schema(request=None, responses={202: WorkerPingSerializer}, summary="Send a ping through the broker to a worker")
@api_view(["POST"])
@permission_classes([IsAdmin])
def create_ping(request):
    ping = WorkerPing.objects.create()
    transaction.on_commit(lambda: worker_ping.delay(str(ping.pk)))
    return Response(WorkerPingSerializer(ping).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(responses=WorkerPingSerializer, summary="A worker ping and its round trip")
@api_view(["GET"])
@permission_classes([IsAdmin])
def get_ping(request, pk):
    return Response(WorkerPingSerializer(get_object_or_404(WorkerPing, pk=pk)).data)
