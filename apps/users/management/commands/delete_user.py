from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import ProtectedError


class Command(BaseCommand):
    help = "Delete a user with their API tokens and secrets. Users who still own jobs or endpoints are kept."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No such user: {username!r}.")
        try:
            user.delete()
        except ProtectedError as exc:
            owned = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
            raise CommandError(
                f"User {username!r} still owns {', '.join(owned)}; delete or reassign them first "
                "(deleting the user would leave remote resources nobody can stop)."
            ) from exc
        self.stdout.write(self.style.SUCCESS(f"Deleted user {username!r}."))
