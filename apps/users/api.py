from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    groups = serializers.ListField(child=serializers.CharField())
    is_admin = serializers.BooleanField()
    auth = serializers.CharField(help_text="How this request authenticated: 'token' or 'session'.")
    token_name = serializers.CharField(allow_null=True)
    active_tokens = serializers.IntegerField()


@extend_schema(responses=MeSerializer, summary="The authenticated user")
@api_view(["GET"])
def me(request):
    user = request.user
    token = request.auth if hasattr(request.auth, "digest") else None
    return Response(
        MeSerializer(
            {
                "id": user.pk,
                "username": user.username,
                "email": user.email,
                "groups": sorted(user.groups.values_list("name", flat=True)),
                "is_admin": user.is_admin,
                "auth": "token" if token else "session",
                "token_name": token.name if token else None,
                "active_tokens": user.api_tokens.usable().count(),
            }
        ).data
    )
