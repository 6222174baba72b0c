import re
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.endpoints import names

SAGEMAKER = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")  # botocore EndpointName / EndpointConfigName
SAGEMAKER_MODEL = re.compile(r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$")  # botocore ModelName
K8S = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

ids = st.one_of(st.integers(min_value=1, max_value=10**18), st.uuids())


@settings(max_examples=500, deadline=None)
@given(model_name=st.text(min_size=1, max_size=200), endpoint_id=ids)
def test_every_generated_name_is_valid_for_any_model_name(model_name, endpoint_id):
    name = names.endpoint_name(endpoint_id, model_name)
    assert len(name) <= 63
    assert SAGEMAKER.fullmatch(name) and SAGEMAKER_MODEL.fullmatch(name)
    assert not name.endswith("-")
    # unique: the id is the last part, intact, and the same inputs give the same name (retries adopt)
    unique = endpoint_id.hex if isinstance(endpoint_id, uuid.UUID) else str(endpoint_id)
    assert name.endswith("-" + unique)
    assert names.endpoint_name(endpoint_id, model_name) == name
    assert names.endpoint_name_problems(name) == []


@settings(max_examples=300, deadline=None)
@given(model_name=st.text(min_size=1, max_size=200), endpoint_id=st.integers(min_value=1, max_value=10**12),
       namespace=st.from_regex(r"[a-z][a-z0-9-]{0,18}[a-z0-9]", fullmatch=True), routing=st.booleans())
def test_every_kubernetes_name_is_valid_and_within_the_operator_budget(model_name, endpoint_id, namespace, routing):
    name = names.kubernetes_endpoint_name(endpoint_id, model_name, namespace=namespace, routing=routing)
    assert K8S.fullmatch(name)
    assert len(f"prefetch-{name}-inf") <= 63
    if routing:
        assert len(f"{name}-{namespace}-routing-service") <= 63
    assert names.kubernetes_name_problems(name, namespace=namespace, routing=routing) == []


@settings(max_examples=200, deadline=None)
@given(a=st.integers(min_value=1, max_value=10**9), b=st.integers(min_value=1, max_value=10**9),
       model_a=st.text(max_size=200), model_b=st.text(max_size=200))
def test_different_ids_never_share_a_name(a, b, model_a, model_b):
    if a != b:
        assert names.endpoint_name(a, model_a) != names.endpoint_name(b, model_b)


def test_examples():
    assert names.endpoint_name(42, "meta-llama/Llama-3.1-8B-Instruct") == "mh-Llama-3-1-8B-Instruct-42"
    assert names.endpoint_name(7, "s3://bucket/jobs/9/merged/") == "mh-merged-7"
    assert names.endpoint_name(7, "日本語") == "mh-7"
    long = names.endpoint_name(123456, "a" * 62 + "-" + "b")
    assert len(long) == 63 and not long.endswith("-") and long.endswith("-123456")
    # a cut landing on a dash never leaves it at the end of the label
    cut = names.endpoint_name(1, "x" * 57 + "-yyyy")
    assert "--" not in cut and len(cut) <= 63


@pytest.mark.parametrize(("name", "fragment"), [
    ("", "Enter a name"),
    ("has_underscore", "only letters"),
    ("ends-", "Start and end"),
    ("-starts", "Start and end"),
    ("a" * 64, "at most 63"),
    ("dots.bad", "only letters"),
])
def test_user_name_problems_are_explained(name, fragment):
    problems = names.endpoint_name_problems(name)
    assert problems and any(fragment in p for p in problems)


def test_valid_user_names():
    for name in ("a", "A1", "my-endpoint", "x" * 63, "a--b"):
        assert names.endpoint_name_problems(name) == [], name
        assert names.is_valid_sagemaker_name(name)


def test_kubernetes_budget_shrinks_with_routing_and_long_namespaces():
    assert names.kubernetes_name_budget("default") == 50
    assert names.kubernetes_name_budget("default", routing=True) == 39
    problems = names.kubernetes_name_problems("a" * 40, namespace="default", routing=True)
    assert any("39" in p for p in problems)
    assert names.kubernetes_name_problems("Upper", namespace="default")


def test_namespace_too_long_for_routing_is_a_clear_error():
    with pytest.raises(ValueError, match="namespace"):
        names.kubernetes_endpoint_name(12345, "m", namespace="n" * 40, routing=True)


def test_ids_with_dashes_or_symbols():
    assert names.endpoint_name("ab-12", "m").endswith("-ab12")
    with pytest.raises(ValueError):
        names.endpoint_name("a_b", "m")
