"""Who may see and act on what.

Admins see and change everything. Everyone else sees what they own plus what is shared with them
(a `Share` with one of their groups or with everyone, for the kinds in apps/users/shares.py), and
changes or deletes only what they own. Views, API viewsets and tasks use these helpers rather than
filtering by hand, so the rule lives in one place. Objects a user may not see are reported as missing
(404), never as forbidden, so their existence does not leak; an object seen through a share but not
owned answers 403 (or 404 from pages) to a change.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from rest_framework import permissions

from .shares import Share, is_shareable


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_admin)


# Up to this many shared ids are inlined in the list query; more, and it uses a subquery instead.
MAX_INLINE_SHARED_IDS = 500


def _shared_with(model, user) -> Q | None:
    """Rows of `model` shared with `user` (None: none). The ids are read first, in one small query: a bare
    `owner = me` filter walks the (owner, deleted_at, -created_at) index and stops at a page, where an OR with
    a subquery makes the database read and sort every row the user owns (16× slower at 100,000 jobs)."""
    shares = Share.objects.filter(content_type=ContentType.objects.get_for_model(model)) \
        .filter(Q(group__isnull=True) | Q(group__user=user))
    ids = list(shares.values_list("object_id", flat=True).distinct()[:MAX_INLINE_SHARED_IDS + 1])
    if not ids:
        return None
    return Q(pk__in=ids if len(ids) <= MAX_INLINE_SHARED_IDS else shares.values("object_id"))


def visible_to(queryset: QuerySet, user, owner_field: str = "owner") -> QuerySet:
    """The rows of `queryset` that `user` may see (and use: chat with, train on, deploy)."""
    if not (user and user.is_authenticated):
        return queryset.none()
    if is_admin(user):
        return queryset
    mine = Q(**{owner_field: user})
    shared = _shared_with(queryset.model, user) if is_shareable(queryset.model) else None
    return queryset.filter(mine | shared if shared else mine)


def changeable_by(queryset: QuerySet, user, owner_field: str = "owner") -> QuerySet:
    """The rows of `queryset` that `user` may change or delete: their own (admins: all)."""
    if not (user and user.is_authenticated):
        return queryset.none()
    return queryset if is_admin(user) else queryset.filter(**{owner_field: user})


def can_view(user, obj: Model, owner_field: str = "owner") -> bool:
    if can_change(user, obj, owner_field):
        return True
    return bool(user and user.is_authenticated) and is_shareable(type(obj)) and visible_to(
        type(obj)._default_manager.filter(pk=obj.pk), user, owner_field).exists()


def can_change(user, obj: Model, owner_field: str = "owner") -> bool:
    if not (user and user.is_authenticated):
        return False
    return is_admin(user) or getattr(obj, f"{owner_field}_id") == user.pk


def _get_or_404(queryset: QuerySet, lookup: dict):
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from None


def get_visible_or_404(queryset: QuerySet, user, owner_field: str = "owner", **lookup):
    return _get_or_404(visible_to(queryset, user, owner_field), lookup)


def get_changeable_or_404(queryset: QuerySet, user, owner_field: str = "owner", **lookup):
    """For pages that change an object: one seen only through a share is as missing as any other."""
    return _get_or_404(changeable_by(queryset, user, owner_field), lookup)


class IsOwnerOrAdmin(permissions.BasePermission):
    """DRF object permission: anyone who sees the object may read it; its owner or an admin may change it.

    The viewset's queryset (OwnedQuerysetMixin) already holds only visible objects. A viewset lists
    in `viewer_actions` the unsafe actions a viewer may take (e.g. cloning a shared job into their own).
    """

    owner_field = "owner"

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj):
        owner_field = getattr(view, "owner_field", self.owner_field)
        if request.method in permissions.SAFE_METHODS or getattr(view, "action", None) in getattr(
                view, "viewer_actions", ()):
            return can_view(request.user, obj, owner_field)
        return can_change(request.user, obj, owner_field)


class IsAdmin(permissions.BasePermission):
    def has_permission(self, request, view):
        return is_admin(request.user)


class OwnedQuerysetMixin:
    """For DRF viewsets and Django class-based views: `get_queryset()` narrowed to what the user may see.

    Set `queryset` (or override `get_base_queryset`) as usual; lookups of other users' objects 404.
    """

    owner_field = "owner"

    def get_base_queryset(self) -> QuerySet:
        return super().get_queryset()

    def get_queryset(self):
        return visible_to(self.get_base_queryset(), self.request.user, self.owner_field)


class OwnedObjectViewMixin(LoginRequiredMixin, OwnedQuerysetMixin):
    """For server-rendered pages: login required, and only visible objects are found."""
