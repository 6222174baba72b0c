"""/api/v1/shares/: share a job, an endpoint or a dataset with a group (or, for admins, with everyone)."""

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, routers, serializers, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError

from apps.core import limits

from .ownership import changeable_by, visible_to
from .shares import SHAREABLE, Share, ShareError, model_for, share


class ShareSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=list(SHAREABLE))
    group = serializers.SlugRelatedField(
        slug_field="name", queryset=Group.objects.all(), allow_null=True, required=False, default=None,
        help_text="The group's name; null shares with every user (admins only).")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Share
        fields = ["id", "kind", "object_id", "group", "created_by", "created_at"]
        read_only_fields = ["created_at"]


def shares_user_may_change(user):
    """Shares of the objects `user` may change: their own (admins: every share)."""
    if user.is_admin:
        return Share.objects.all()
    mine = Q(pk__in=[])
    for kind in SHAREABLE:
        model = model_for(kind)
        mine |= Q(content_type=ContentType.objects.get_for_model(model),
                  object_id__in=changeable_by(model.objects.all(), user).values("pk"))
    return Share.objects.filter(mine)


@extend_schema_view(
    list=extend_schema(summary="Shares of the objects you own (admins: all)", parameters=[
        OpenApiParameter("kind", str, enum=list(SHAREABLE)), OpenApiParameter("object_id", int)]),
    create=extend_schema(summary="Share an object you own with a group, or (admins) with everyone"),
    destroy=extend_schema(summary="Stop sharing"),
)
class ShareViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                   mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Members of the group see and use the object (chat with an endpoint, train on a dataset, clone a job);
    only its owner and admins change or delete it."""

    serializer_class = ShareSerializer
    queryset = Share.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        queryset = shares_user_may_change(self.request.user).select_related("content_type", "group", "created_by")
        params = self.request.query_params
        if params.get("kind") in SHAREABLE:
            queryset = queryset.filter(content_type=ContentType.objects.get_for_model(model_for(params["kind"])))
        object_id = limits.parse_id(params.get("object_id", ""))
        if object_id is not None:
            queryset = queryset.filter(object_id=object_id)
        return queryset

    def perform_create(self, serializer):
        user, data = self.request.user, serializer.validated_data
        objects = model_for(data["kind"]).objects.all()
        obj = changeable_by(objects, user).filter(pk=data["object_id"]).first()
        if obj is None:
            if visible_to(objects, user).filter(pk=data["object_id"]).exists():
                raise PermissionDenied(f"Only the {data['kind']}'s owner or an admin can share it.")
            raise ValidationError({"object_id": [f"No {data['kind']} with id {data['object_id']} is yours."]})
        try:
            serializer.instance = share(obj, data.get("group"), by=user)
        except ShareError as exc:
            raise ValidationError({"group": [str(exc)]}) from None


router = routers.SimpleRouter()
router.register("shares", ShareViewSet, basename="share")
