from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, routers, serializers, viewsets
from rest_framework.decorators import api_view
from rest_framework.response import Response

from .models import UserSecret


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


class UserSecretSerializer(serializers.ModelSerializer):
    value = serializers.CharField(write_only=True, max_length=4096, style={"input_type": "password"})

    class Meta:
        model = UserSecret
        fields = ["id", "name", "kind", "value", "hint", "created_at"]
        read_only_fields = ["hint", "created_at"]

    def validate_name(self, name):
        if UserSecret.objects.filter(owner=self.context["request"].user, name=name).exists():
            raise serializers.ValidationError("You already have a secret with this name.")
        return name


@extend_schema_view(
    list=extend_schema(summary="Your stored secrets (values are never returned)"),
    create=extend_schema(summary="Store a secret (W&B / SwanLab key, Hugging Face token)"),
)
class UserSecretViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Secrets belong to their owner alone: not even admins read other users' secrets here."""

    serializer_class = UserSecretSerializer
    queryset = UserSecret.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        return UserSecret.objects.filter(owner=self.request.user)

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)


router = routers.SimpleRouter()
router.register("secrets", UserSecretViewSet, basename="secret")
