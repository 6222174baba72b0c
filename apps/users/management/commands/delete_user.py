from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Delete a user and their API tokens."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, username, **options):
        deleted, _ = get_user_model().objects.filter(username=username).delete()
        if not deleted:
            raise CommandError(f"No such user: {username!r}.")
        self.stdout.write(self.style.SUCCESS(f"Deleted user {username!r}."))
