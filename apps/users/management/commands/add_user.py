import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.users.models import GROUPS
from apps.users.models import group as get_group


def read_password(from_stdin: bool) -> str:
    """The password from stdin's first line (--password-stdin) or typed twice at a prompt; never from argv,
    where every user of the machine can read it (ps, /proc, shell history)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError("--password-stdin: nothing was read from standard input.")
        return password
    if not sys.stdin.isatty():
        raise CommandError("No terminal to ask for the password: pipe it in with --password-stdin.")
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Password (again): "):
        raise CommandError("The two passwords differ.")
    return password


class Command(BaseCommand):
    help = ("Create a user in a group (admin or default). The password is asked for at a prompt, or read from "
            "standard input with --password-stdin (e.g. `printf '%s\\n' \"$PASS\" | manage.py add_user ...`); "
            "it is stored hashed.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("group", help=f"One of: {', '.join(GROUPS)}")
        parser.add_argument("--email", default="")
        parser.add_argument("--password-stdin", action="store_true",
                            help="Read the password from the first line of standard input instead of a prompt.")

    def handle(self, username, group, email, password_stdin, **options):
        User = get_user_model()
        if group not in GROUPS:
            raise CommandError(f"Unknown group {group!r}: use one of {', '.join(GROUPS)}.")
        if User.objects.filter(username=username).exists():
            raise CommandError(f"User {username!r} already exists.")
        is_admin = group == "admin"
        user = User(username=username, email=email, is_staff=is_admin, is_superuser=is_admin)
        try:
            User.username_validator(username)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        password = read_password(password_stdin)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        with transaction.atomic():
            user.set_password(password)
            user.save()
            user.groups.add(get_group(group))
        self.stdout.write(self.style.SUCCESS(f"Created user {username!r} in group {group!r}."))
