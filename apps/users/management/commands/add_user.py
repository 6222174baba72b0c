from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.users.models import GROUPS
from apps.users.models import group as get_group


class Command(BaseCommand):
    help = "Create a user in a group (admin or default). The password is stored hashed."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("password")
        parser.add_argument("group", help=f"One of: {', '.join(GROUPS)}")
        parser.add_argument("--email", default="")

    def handle(self, username, password, group, email, **options):
        User = get_user_model()
        if group not in GROUPS:
            raise CommandError(f"Unknown group {group!r}: use one of {', '.join(GROUPS)}.")
        if User.objects.filter(username=username).exists():
            raise CommandError(f"User {username!r} already exists.")
        is_admin = group == "admin"
        user = User(username=username, email=email, is_staff=is_admin, is_superuser=is_admin)
        try:
            User.username_validator(username)
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        with transaction.atomic():
            user.set_password(password)
            user.save()
            user.groups.add(get_group(group))
        self.stdout.write(self.style.SUCCESS(f"Created user {username!r} in group {group!r}."))
