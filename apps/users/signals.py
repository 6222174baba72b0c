"""Signal receivers of the users app, connected in UsersConfig.ready()."""

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete

from .models import ADMIN_GROUP
from .shares import SHAREABLE, remove_shares_of


def sync_admin_flags(user_ids) -> None:
    """Membership of the `admin` group is what makes an admin, in ModelHub and in Django admin alike:
    members get staff and superuser status, and lose both when they leave the group."""
    User = get_user_model()
    users = User.objects.filter(pk__in=list(user_ids))
    users.filter(groups__name=ADMIN_GROUP).update(is_staff=True, is_superuser=True)
    users.exclude(groups__name=ADMIN_GROUP).update(is_staff=False, is_superuser=False)


def _admin_group_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear", "pre_clear"):
        return
    if reverse:  # group.user_set.add(...): instance is the group
        if instance.name != ADMIN_GROUP:
            return
        if action == "pre_clear":
            instance._clearing = list(instance.user_set.values_list("pk", flat=True))
            return
        sync_admin_flags(pk_set if action != "post_clear" else getattr(instance, "_clearing", []))
        return
    if action == "pre_clear":
        return
    instance.__dict__.pop("_group_names", None)  # the cached names are stale now
    if action == "post_clear" or Group.objects.filter(pk__in=pk_set, name=ADMIN_GROUP).exists():
        sync_admin_flags([instance.pk])
        _refresh(instance)


def _refresh(user) -> None:
    fresh = type(user).objects.filter(pk=user.pk).values("is_staff", "is_superuser").first() or {}
    for field, value in fresh.items():
        setattr(user, field, value)


def connect() -> None:
    for label, _ in SHAREABLE.values():
        post_delete.connect(remove_shares_of, sender=apps.get_model(label), dispatch_uid=f"shares-of-{label}")
    m2m_changed.connect(_admin_group_changed, sender=get_user_model().groups.through, dispatch_uid="admin-group-flags")
