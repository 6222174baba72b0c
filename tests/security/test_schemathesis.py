"""schemathesis over the OpenAPI schema of every API route: generated requests, valid and not, never 5xx.

The schema is drf-spectacular's, built in process; requests go through the real Django stack (WSGI) with
a user's Bearer token. Each route gets SCHEMATHESIS_MAX_EXAMPLES generated cases, valid and invalid (10 by
default: about 400 requests and a minute on CI's machine; raise it locally for a deeper search). Only the
status is checked: whether every response matches its declared schema is not asserted yet (error bodies are
not declared for most routes).
"""

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


# Generated cases only (valid and invalid), MAX_EXAMPLES per route: the explicit-examples and coverage phases
# would add thousands of cases per run regardless of MAX_EXAMPLES.
CONFIG = schemathesis.Config.from_dict({
    "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}, "stateful": {"enabled": False},
               "fuzzing": {"enabled": True}},
    "generation": {"max-examples": MAX_EXAMPLES, "mode": "all", "database": "none"},
})
schema = schemathesis.openapi.from_dict(_schema(), config=CONFIG)
schema.app = get_wsgi_application()


@pytest.fixture
def keep_test_connection():
    """As Django's test client does: a request's end must not close the test's database connection."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(keep_test_connection):
    from tests.conftest import make_user

    from apps.users.models import ApiToken

    user = make_user("fuzzer")
    return {"Authorization": f"Bearer {ApiToken.issue(user, 'fuzz')[1]}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_no_route_answers_5xx(case, bearer):
    response = case.call(headers=bearer)
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text[:500])
