"""Signal receivers of the users app, connected in UsersConfig.ready()."""

from django.apps import apps
from django.db.models.signals import post_delete

from .shares import SHAREABLE, remove_shares_of


def connect() -> None:
    for label, _ in SHAREABLE.values():
        post_delete.connect(remove_shares_of, sender=apps.get_model(label), dispatch_uid=f"shares-of-{label}")
