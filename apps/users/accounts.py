"""Account changes made by admins, shared by the users page and /api/v1/users/."""

import secrets

from django.contrib.auth.models import Group
from django.db import transaction

from .models import DEFAULT_GROUP, User
from .models import group as get_group


def create_account(username: str, email: str, password: str, groups) -> User:
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password)
        set_groups(user, groups or [get_group(DEFAULT_GROUP)])
    return user


def set_groups(user: User, groups) -> None:
    """Replace the user's groups; the `admin` group brings staff and superuser status with it (signals.py)."""
    user.groups.set(list(groups))
    user.refresh_from_db(fields=["is_staff", "is_superuser"])


def set_active(user: User, active: bool) -> None:
    """A disabled account can neither log in nor use its API tokens (authentication checks is_active)."""
    user.is_active = active
    user.save(update_fields=["is_active"])


def reset_password(user: User) -> str:
    """A new random password, returned once for the admin to pass on; the old one stops working."""
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.save(update_fields=["password"])
    return password


def all_groups():
    return Group.objects.order_by("name")
