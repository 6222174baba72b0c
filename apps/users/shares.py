"""Sharing: an owned object (a job, an endpoint, a dataset) made visible to a group, or to everyone.

A `Share` names the object by content type and id, so the shared tables need no column of their own.
Sharing only widens who may *see* and *use* an object; changing and deleting stay with its owner and
admins (see apps/users/ownership.py). Owners share with the groups they belong to; admins with any group,
and only admins share with everyone. Datasets are shared with everyone by their older `shared` flag
instead (one way to do one thing), so a dataset's shares here are group shares.
"""

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.urls import reverse

# kind (as the API and the forms name it) -> (model label, detail page URL name)
SHAREABLE = {
    "job": ("jobs.TrainingJob", "jobs:detail"),
    "endpoint": ("endpoints.Endpoint", "endpoints:detail"),
    "dataset": ("catalog.Dataset", "catalog:dataset-detail"),
}


class Share(models.Model):
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    group = models.ForeignKey(Group, on_delete=models.CASCADE, null=True, blank=True,
                              help_text="Empty: shared with every user.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "users"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="share_object")]
        # A null group (everyone) is kept unique by `share` itself: not every database enforces conditional unique keys.
        constraints = [models.UniqueConstraint(fields=["content_type", "object_id", "group"], name="unique_share")]

    def __str__(self):
        return f"{self.content_type.model} {self.object_id} → {self.audience}"

    @property
    def audience(self) -> str:
        return self.group.name if self.group_id else "everyone"

    @property
    def kind(self) -> str:
        return kind_of(self.content_type.model_class())


class ShareError(Exception):
    """Refused: the message says why, for the page or a 400/403."""


def model_for(kind: str):
    return apps.get_model(SHAREABLE[kind][0])


def kind_of(model) -> str | None:
    label = model._meta.label_lower
    return next((kind for kind, (name, _) in SHAREABLE.items() if name.lower() == label), None)


def is_shareable(model) -> bool:
    return kind_of(model) is not None


def detail_url(obj) -> str:
    return reverse(SHAREABLE[kind_of(type(obj))][1], args=[obj.pk])


def shares_of(obj):
    return Share.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk) \
        .select_related("group")


def groups_user_may_share_with(user):
    return Group.objects.all() if user.is_admin else user.groups.all()


def check_audience(user, group: Group | None, kind: str) -> None:
    if group is None:
        if kind == "dataset":  # one way to do it: datasets keep their own flag for this
            raise ShareError("Datasets are shared with all users by their “shared” flag (the dataset page's "
                             "“Share with all users”, or PATCH /api/v1/datasets/{id}/); share with a group here.")
        if not user.is_admin:
            raise ShareError("Only admins share with everyone; share with one of your groups.")
    elif not groups_user_may_share_with(user).filter(pk=group.pk).exists():
        raise ShareError(f"You are not in the group “{group.name}”; you can share only with your own groups.")


def share(obj, group: Group | None, by) -> Share:
    """Share `obj` with `group` (None: everyone); sharing twice returns the existing share."""
    check_audience(by, group, kind_of(type(obj)))
    content_type = ContentType.objects.get_for_model(obj)
    with transaction.atomic():
        existing = Share.objects.select_for_update().filter(content_type=content_type, object_id=obj.pk, group=group)
        found = existing.first()
        if found:
            return found
        return Share.objects.create(content_type=content_type, object_id=obj.pk, group=group, created_by=by)


def remove_shares_of(sender, instance, **kwargs) -> None:
    """post_delete: shares of a deleted row would otherwise point at whatever later takes its id."""
    Share.objects.filter(content_type=ContentType.objects.get_for_model(sender), object_id=instance.pk).delete()
