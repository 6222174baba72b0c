"""Project-wide guards: migrations match the models, and the deploy checks pass."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit:
        pytest.fail(f"Models changed without a migration:\n{out.getvalue()}") if exit.code else None


def test_system_checks_pass():
    call_command("check")
