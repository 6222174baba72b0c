import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.users.models import ADMIN_GROUP, group


class Command(BaseCommand):
    help = "Create the 'admin' user on first run and print its generated password once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, username, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"User {username!r} exists; its password is unchanged.")
            return
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            user = User.objects.create_superuser(username=username, email="", password=password)
            user.groups.add(group(ADMIN_GROUP))
        self.stdout.write(self.style.SUCCESS(f"Created user {username!r}. Password (shown only now): {password}"))
