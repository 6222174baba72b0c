"""/api/v1/tokens/: your API tokens (admins: everyone's); a new token's value is returned once."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, routers, serializers, status, viewsets
from rest_framework.response import Response

from .models import ApiToken
from .ownership import visible_to


class TokenSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    state = serializers.CharField(read_only=True, help_text="active, expired or revoked")
    expires_in_days = serializers.IntegerField(write_only=True, required=False, allow_null=True, min_value=1,
                                               max_value=3650, help_text="Empty: never expires.")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "owner", "hint", "state", "created_at", "expires_at", "last_used_at", "revoked_at",
                  "expires_in_days"]
        read_only_fields = ["hint", "created_at", "expires_at", "last_used_at", "revoked_at"]


class NewTokenSerializer(TokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The raw token: shown this once, never again.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]


@extend_schema(tags=["users"])
@extend_schema_view(
    list=extend_schema(summary="Your API tokens (admins: everyone's)",
                       parameters=[OpenApiParameter("owner", str, description="Owner's username (admins)")]),
    create=extend_schema(request=TokenSerializer, responses={201: NewTokenSerializer},
                         summary="Issue a token for yourself; its value is in this response only"),
    destroy=extend_schema(summary="Revoke a token (clients using it get 401 from then on)"),
)
class TokenViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                   mixins.DestroyModelMixin, viewsets.GenericViewSet):
    serializer_class = TokenSerializer
    queryset = ApiToken.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        queryset = visible_to(ApiToken.objects.select_related("owner"), self.request.user)
        if self.request.query_params.get("owner"):
            queryset = queryset.filter(owner__username=self.request.query_params["owner"])
        return queryset

    def create(self, request, *args, **kwargs):
        serializer = TokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = ApiToken.issue(request.user, serializer.validated_data["name"],
                                    serializer.validated_data.get("expires_in_days"))
        token.token = raw
        return Response(NewTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        self.get_object().revoke()
        return Response(status=status.HTTP_204_NO_CONTENT)


router = routers.SimpleRouter()
router.register("tokens", TokenViewSet, basename="token")
