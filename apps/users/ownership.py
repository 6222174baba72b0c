"""Who may see and act on what: admins on everything, everyone else on what they own.

Every owned model has an `owner` foreign key. Views, API viewsets and tasks use these helpers
rather than filtering by hand, so the rule lives in one place. Objects a user may not see are
reported as missing (404), never as forbidden, so their existence does not leak.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework import permissions


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_admin)


def visible_to(queryset: QuerySet, user, owner_field: str = "owner") -> QuerySet:
    """The rows of `queryset` that `user` may see."""
    if not (user and user.is_authenticated):
        return queryset.none()
    if is_admin(user):
        return queryset
    return queryset.filter(**{owner_field: user})


def can_access(user, obj: Model, owner_field: str = "owner") -> bool:
    if not (user and user.is_authenticated):
        return False
    return is_admin(user) or getattr(obj, f"{owner_field}_id") == user.pk


def get_visible_or_404(queryset: QuerySet, user, owner_field: str = "owner", **lookup):
    try:
        return visible_to(queryset, user, owner_field).get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from None


class IsOwnerOrAdmin(permissions.BasePermission):
    """DRF object permission: the object's owner or an admin."""

    owner_field = "owner"

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj):
        return can_access(request.user, obj, getattr(view, "owner_field", self.owner_field))


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
