"""Who may reach what: every route of the site and the API, for every kind of principal.

The routes are walked from the URL resolver, so a new route is covered as soon as it exists, and fails
until it is classified in RULES. Each route is requested as anonymous, user A (who owns every object the
route can name), user B (a stranger to A), a member of a group A shared with, an admin, and with A's
revoked and expired tokens. Refusals are asserted as 401/403/404 (pages: a redirect to sign in), access
as a success, and no response to anyone but A, the group member (for what was shared) and the admin carries
A's marker string: not a name, not a URI, not a title.
"""

import json
import re
from dataclasses import dataclass

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction
from django.test import Client

from apps.catalog.models import Dataset
from apps.chat import access, gateway
from apps.jobs.models import TrainingJob
from apps.jobs.references import reference_problem
from tests.routes import routes

from .authz_world import MARKER, PRINCIPALS, SIGNED_OUT, build


@dataclass(frozen=True)
class Rule:
    """`who`: public (anyone), signed_in, admin, view (A's object, shared kinds visible to the group), change
    (A's object, only A and admins), own (A's object, only A: not even admins read another's secrets). `kind`: which of A's objects the route's id names."""

    who: str
    kind: str = ""
    missing_ok: bool = False  # the id names nothing that exists even for A (a file, a ping): only refusals count


PUBLIC, SIGNED_IN, ADMIN = Rule("public"), Rule("signed_in"), Rule("admin")


def view(kind):
    return Rule("view", kind)


def change(kind):
    return Rule("change", kind)


RULES = {
    "dashboard": SIGNED_IN, "healthz": PUBLIC, "login": PUBLIC, "logout": PUBLIC, "set-language": PUBLIC,
    "profile": SIGNED_IN, "revoke-token": change("token"), "add-secret": SIGNED_IN, "delete-secret": change("secret"),
    "users-admin:list": ADMIN, "users-admin:detail": ADMIN, "users-admin:groups": ADMIN, "users-admin:active": ADMIN,
    "users-admin:reset-password": ADMIN, "users-admin:revoke-token": ADMIN,
    "add-share": SIGNED_IN, "remove-share": change("share"),
    "catalog:models": SIGNED_IN, "catalog:model-add": SIGNED_IN, "catalog:model-detail": SIGNED_IN,
    "catalog:model-delete": ADMIN, "catalog:datasets": SIGNED_IN, "catalog:dataset-upload": SIGNED_IN,
    "catalog:dataset-register": SIGNED_IN, "catalog:dataset-detail": view("dataset"),
    "catalog:dataset-thumbnail": Rule("view", "dataset", missing_ok=True), "catalog:dataset-delete": change("dataset"),
    "catalog:dataset-share": change("dataset"),
    "jobs:list": SIGNED_IN, "jobs:new": SIGNED_IN, "jobs:estimate": SIGNED_IN, "jobs:preview": SIGNED_IN,
    "jobs:form_advanced": SIGNED_IN, "jobs:compare": SIGNED_IN, "jobs:spot_prices": SIGNED_IN,
    "jobs:detail": view("job"), "jobs:live": view("job"), "jobs:logs": view("job"), "jobs:log_download": Rule("view", "job", missing_ok=True),
    "jobs:outputs": view("job"), "jobs:output_download": Rule("view", "job", missing_ok=True), "jobs:stop": change("job"),
    "jobs:delete": change("job"),
    "endpoints:list": SIGNED_IN, "endpoints:new": SIGNED_IN, "endpoints:fit": SIGNED_IN,
    "endpoints:detail": view("endpoint"), "endpoints:live": view("endpoint"), "endpoints:logs": view("endpoint"),
    "endpoints:scale": change("endpoint"), "endpoints:delete": change("endpoint"),
    "clusters:list": SIGNED_IN, "clusters:register": ADMIN, "clusters:detail": Rule("signed_in", "cluster"),
    "clusters:delete": Rule("admin", "cluster"),
    "chat:playground": SIGNED_IN,
    "schema": PUBLIC, "api-docs": PUBLIC,
    "api:me": SIGNED_IN, "api:secret-list": SIGNED_IN, "api:secret-detail": Rule("own", "secret"),
    "api:share-list": SIGNED_IN, "api:share-detail": change("share"),
    "api:user-list": ADMIN, "api:user-detail": ADMIN, "api:user-reset-password": ADMIN,
    "api:token-list": SIGNED_IN, "api:token-detail": change("token"),
    "api:ping-create": ADMIN, "api:ping-detail": Rule("admin", missing_ok=True),
    "api:model-list": SIGNED_IN, "api:model-detail": SIGNED_IN,
    "api:dataset-list": SIGNED_IN, "api:dataset-detail": view("dataset"), "api:dataset-preview": view("dataset"),
    "api:dataset-report": view("dataset"),
    "api:job-list": SIGNED_IN, "api:job-detail": view("job"), "api:job-clone": view("job"),
    "api:job-events": view("job"), "api:job-logs": view("job"), "api:job-metrics": view("job"),
    "api:job-stop": change("job"),
    "api:endpoint-list": SIGNED_IN, "api:endpoint-detail": view("endpoint"), "api:endpoint-events": view("endpoint"),
    "api:cluster-list": SIGNED_IN, "api:cluster-detail": Rule("signed_in", "cluster"),
    "api:conversation-reply": change("conversation"), "api:conversation-list": SIGNED_IN,
    "api:conversation-detail": change("conversation"), "api:conversation-messages": change("conversation"),
}
# Django's own admin site: staff only; any other principal is sent to its sign-in page.
DJANGO_ADMIN = "admin:"
SHARED_KINDS = {"job", "endpoint", "dataset"}


ROUTES = sorted(set(routes()), key=lambda route: route[1])


def url_for(pattern: str, ids: dict) -> str:
    """A concrete path for a resolver pattern (Django's `<conv:name>` and DRF's `(?P<name>...)` alike)."""
    fill = lambda match: str(ids.get(match[1], 1))  # noqa: E731
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", fill, pattern)
    path = re.sub(r"<(?:\w+:)?(\w+)>", fill, path)
    path = path.replace("^", "").replace("$", "").replace("/?", "")
    return "/" + path


def ids_for(rule: Rule, world) -> dict:
    ids = {"pk": world.ids.get(rule.kind, world.ids["user"]), "key": world.model_key, "name": "x.png",
           "token_pk": world.ids["token"], "object_id": world.ids["job"], "content_type_id": 1, "id": 1,
           "app_label": "jobs"}
    return ids


def allowed(rule: Rule, principal: str) -> bool:
    if rule.who == "public":
        return True
    if principal in SIGNED_OUT:
        return False
    if rule.who == "signed_in":
        return True
    if rule.who == "admin":
        return principal == "admin"
    if principal == "owner":
        return True
    if rule.who == "own":
        return False
    if principal == "admin":
        return True
    return rule.who == "view" and rule.kind in SHARED_KINDS and principal == "member"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            yield build()
            transaction.set_rollback(True)


def client_for(principal: str, world) -> Client:
    client = Client(raise_request_exception=False)
    if principal in world.users:
        client.force_login(world.users[principal])
    return client


def api_client_for(principal: str, world) -> Client:
    token = world.tokens.get(principal)
    return Client(raise_request_exception=False, **({"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}))


def rule_for(name: str) -> Rule:
    if name in ("admin:login", "admin:logout"):
        return PUBLIC
    if name.startswith(DJANGO_ADMIN):
        return ADMIN
    assert name in RULES, f"route {name!r} is not classified in RULES: say who may reach it"
    return RULES[name]


def request(client: Client, path: str):
    response = client.get(path)
    if response.status_code == 405:  # an action: refused principals must be refused on its method too
        response = client.post(path, {})
    return response


def refused(response, api: bool) -> bool:
    if api:
        return response.status_code in (401, 403, 404)
    if response.status_code in (302, 303):
        return "login" in response["Location"]
    return response.status_code in (403, 404)


def body(response) -> str:
    return b"".join(response.streaming_content).decode(errors="replace") if response.streaming else \
        response.content.decode(errors="replace")


@pytest.mark.django_db
@pytest.mark.parametrize("pattern,name", ROUTES, ids=[name for _, name in ROUTES])
def test_route(world, pattern, name):
    rule = rule_for(name)
    api = pattern.startswith("api/v1/")
    path = url_for(pattern, ids_for(rule, world))
    problems = []
    for principal in PRINCIPALS:
        client = api_client_for(principal, world) if api or principal in SIGNED_OUT else client_for(principal, world)
        if allowed(rule, principal):
            if rule.who == "public" or name.startswith(DJANGO_ADMIN):
                continue  # reached without an owner's object: nothing of A's to check here
            response = client.get(path)
            if response.status_code not in (400, 405) and response.status_code >= 400 and not rule.missing_ok:
                problems.append(f"{principal}: GET {path} -> {response.status_code}, expected access")
        else:
            response = request(client, path)
            if not refused(response, api):
                problems.append(f"{principal}: {response.request['REQUEST_METHOD']} {path} -> "
                                f"{response.status_code}, expected a refusal")
        text = body(response)
        if leaked := [mark for mark in world.hidden_from(principal) if mark in text]:
            problems.append(f"{principal}: {path} shows A's data {leaked}")
    assert not problems, "\n".join(problems)


def test_every_classified_route_exists():
    names = {name for _, name in ROUTES}
    assert set(RULES) <= names, sorted(set(RULES) - names)  # a stale entry is removed, not kept


# --- storage references: B may not point a new object into A's storage ----------------------------------

@pytest.mark.django_db
def test_b_cannot_register_a_dataset_inside_a_jobs_output(world, settings):
    """Registered, its preview and its training would read A's job output through B's own dataset."""
    settings.S3_BUCKET, settings.S3_PREFIX = "modelhub-test", "modelhub"
    job = world.objects["job"]
    inside = f"s3://modelhub-test/modelhub/jobs/{job.remote_name}/"
    TrainingJob.objects.filter(pk=job.pk).update(output_uri=inside)  # rolled back with the test
    assert reference_problem(inside + "merged/", world.users["owner"]) is None  # A's own: allowed
    response = api_client_for("stranger", world).post(
        "/api/v1/datasets", {"name": "peek", "source": "s3", "source_uri": inside + "merged/", "format": "alpaca"},
        content_type="application/json")
    assert response.status_code == 400, response.content
    assert "inside ModelHub's own storage" in " ".join(response.json()["errors"]["source_uri"])
    assert not Dataset.objects.filter(name="peek").exists()


# --- the /v1 gateway ------------------------------------------------------------------------------------

def call_gateway(path: str, token: str | None, body: bytes = b"", method: str = "GET"):
    headers = [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {"type": "http", "method": method, "path": path, "headers": headers, "server": ("127.0.0.1", 8000)}
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    access._admitted.clear()
    async_to_sync(gateway.application)(scope, receive, send)  # its database work on this thread, in the test's transaction
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body").decode()


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize("principal", PRINCIPALS)
def test_gateway(world, principal):
    token, model = world.tokens.get(principal), world.objects["endpoint"].name
    status, models = call_gateway("/v1/models", token)
    one_status, _ = call_gateway(f"/v1/models/{model}", token)
    chat = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]}).encode()
    chat_status, chat_body = call_gateway("/v1/chat/completions", token, chat, "POST")
    if principal in SIGNED_OUT:
        assert (status, one_status, chat_status) == (401, 401, 401)
    elif principal == "stranger":
        assert status == 200 and MARKER not in models
        assert one_status == 404 and chat_status == 404, chat_body
        assert json.loads(chat_body)["error"]["code"] == "model_not_found"
    else:  # A, the group A shared the endpoint with, and admins see and may use it
        assert status == 200 and model in [m["id"] for m in json.loads(models)["data"]]
        assert one_status == 200
        # Admitted: the relay went on to the endpoint's SageMaker upstream, which has no credentials in tests.
        assert (chat_status, json.loads(chat_body)["error"]["code"]) == (502, "upstream_error"), chat_body
