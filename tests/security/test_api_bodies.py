"""Every API route that takes a body answers hostile JSON with the error body and a 4xx, never a 500.

The routes come from the OpenAPI schema, so a new route is covered without being listed here.
"""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

HOSTILE = {
    "array": b"[1, 2]",
    "string": b'"text"',
    "null": b"null",
    "number": b"5",
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "object nested 100,000 deep": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "not JSON": b"{nope",
    "not UTF-8": b'{"name": "\xff\xfe"}',
}
THIRTY_MB = b'{"name": "' + b"a" * (30 * 1024 * 1024) + b'"}'


def routes_with_bodies() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                found.append((method.upper(), re.sub(r"\{[^}]+\}", "1", path)))
    return found


@pytest.fixture(scope="module")
def routes(django_db_blocker):
    with django_db_blocker.unblock():
        found = routes_with_bodies()
    assert len(found) >= 8, found  # jobs, endpoints, datasets, models, secrets, clusters, chat, ...
    return found


def assert_error_body(response, statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) >= {"code", "message"} and body["code"] != "server_error"


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_json_bodies_get_the_error_body_with_a_4xx_on_every_route(user_api, routes, kind):
    for method, path in routes:
        response = user_api.generic(method, path, HOSTILE[kind], content_type="application/json")
        assert_error_body(response, {400, 403, 404, 405, 409})


@pytest.mark.django_db
def test_a_30_mb_body_is_413_on_every_route(user_api, routes):
    for method, path in routes:
        response = user_api.generic(method, path, THIRTY_MB, content_type="application/json")
        assert_error_body(response, {403, 404, 405, 413})


@pytest.mark.django_db
def test_a_top_level_object_still_reaches_the_views(user_api):
    response = user_api.post("/api/v1/secrets/", {"name": "ok", "kind": "nope", "value": "x"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "validation_error"


@pytest.mark.django_db
def test_the_parser_reports_the_depth_and_the_shape(user_api):
    deep = user_api.generic("POST", "/api/v1/jobs/", b"[" * 100_000 + b"]" * 100_000, content_type="application/json")
    assert deep.json() == {"code": "parse_error", "message": "The JSON is nested more than 64 levels deep."}
    array = user_api.generic("POST", "/api/v1/jobs/", b"[]", content_type="application/json")
    assert array.json() == {"code": "parse_error", "message": "The request body must be a JSON object."}
