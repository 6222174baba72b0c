"""/api/v1/users/: accounts, for admins: list, add, disable, groups, reset password."""

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, routers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from . import accounts
from .models import User
from .ownership import IsAdmin


class AccountSerializer(serializers.ModelSerializer):
    groups = serializers.SlugRelatedField(slug_field="name", queryset=Group.objects.all(), many=True, required=False,
                                          help_text="Group names; `admin` makes an admin (here and in Django admin).")
    password = serializers.CharField(write_only=True, required=False, style={"input_type": "password"},
                                     help_text="Only when creating; later, use reset_password.")
    is_admin = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "is_active", "is_admin", "groups", "password", "date_joined", "last_login"]
        read_only_fields = ["date_joined", "last_login"]

    def validate(self, data):
        if self.instance is None:
            if not data.get("password"):
                raise serializers.ValidationError({"password": ["A password is required for a new account."]})
            try:
                validate_password(data["password"], User(username=data.get("username", "")))
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"password": exc.messages}) from None
        elif "password" in data:
            raise serializers.ValidationError({"password": ["Use reset_password to change a password."]})
        return data

    def create(self, data):
        return accounts.create_account(data["username"], data.get("email", ""), data["password"], data.get("groups"))

    def update(self, user, data):
        if "email" in data:
            user.email = data["email"]
            user.save(update_fields=["email"])
        if "is_active" in data:
            accounts.set_active(user, data["is_active"])
        if "groups" in data:
            accounts.set_groups(user, data["groups"])
        return user


@extend_schema(tags=["users"])
@extend_schema_view(
    list=extend_schema(summary="Every account (admins only)"),
    create=extend_schema(summary="Add an account (default group unless groups are given)"),
    partial_update=extend_schema(summary="Disable or enable (is_active), change groups or e-mail"),
)
class AccountViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                     mixins.UpdateModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAdmin]
    serializer_class = AccountSerializer
    queryset = User.objects.prefetch_related("groups").order_by("username")
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=None, responses=inline_serializer("PasswordReset", {"password": serializers.CharField()}),
                   summary="Set a new random password, returned once")
    @action(detail=True, methods=["post"])
    def reset_password(self, request, pk=None):
        return Response({"password": accounts.reset_password(self.get_object())})


router = routers.SimpleRouter()
router.register("users", AccountViewSet, basename="user")
