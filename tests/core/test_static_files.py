"""Static files through the ASGI application: whole, with a range, and without Django's warning about
consuming a synchronous iterator (which WhiteNoise's plain responses logged on every page load)."""

import asyncio
import warnings
from pathlib import Path

import pytest
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.test import Client

CSS = Path(settings.BASE_DIR) / "static" / "css" / "app.css"


def asgi_get(path: str, headers=()) -> tuple[int, dict, bytes]:
    app = get_asgi_application()
    sent, requested = [], []

    async def receive():
        if not requested:
            requested.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        while not (sent and sent[-1]["type"] == "http.response.body" and not sent[-1].get("more_body")):
            await asyncio.sleep(0.01)  # like a server: the client leaves once the response is complete
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), *headers], "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, body


@pytest.mark.django_db
def test_static_file_under_asgi_is_whole_and_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the synchronous-iterator warning would fail the request here
        status, headers, body = asgi_get("/static/css/app.css")
    assert status == 200 and body == CSS.read_bytes() and headers["content-type"].startswith("text/css")


@pytest.mark.django_db
def test_range_request_under_asgi():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        status, _, body = asgi_get("/static/css/app.css", [(b"range", b"bytes=10-29")])
    assert status == 206 and body == CSS.read_bytes()[10:30]


def test_wsgi_is_served_as_before():
    response = Client().get("/static/css/app.css")
    assert response.status_code == 200 and b"".join(response.streaming_content) == CSS.read_bytes()
