import pytest

from apps.backends.http_upstream import chat_completions_url, check_url
from apps.backends.upstream_errors import UpstreamError


@pytest.mark.parametrize("given, expected", [
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/chat/completions"),
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1/chat/completions"),
    ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/chat/completions"),
    ("https://alb.example.com/v1/chat/completions", "https://alb.example.com/v1/chat/completions"),
    ("https://alb.example.com/invocations", "https://alb.example.com/invocations"),
])
def test_chat_completions_url(given, expected):
    assert chat_completions_url(given) == expected


@pytest.mark.parametrize("url, target", [
    ("https://alb.example.com/v1/chat/completions", "hyperpod"),
    ("http://127.0.0.1:8000", "local"), ("http://localhost:8000", "local"), ("http://[::1]:8000", "local"),
])
def test_allowed_upstreams(url, target):
    check_url(url, target=target)


@pytest.mark.parametrize("url, target", [
    ("http://alb.example.com/v1/chat/completions", "hyperpod"),  # never plain HTTP with an API key
    ("", "hyperpod"),
    ("http://10.0.0.5:8000", "local"),  # a "local" endpoint elsewhere on the network
    ("http://example.com", "local"),
    ("https://127.0.0.1", "sagemaker"),
])
def test_refused_upstreams(url, target):
    with pytest.raises(UpstreamError):
        check_url(url, target=target)
