import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.core.naming import remote_name, validate_remote_name

VALID = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$")


@given(label=st.text(min_size=0, max_size=200), unique=st.integers(min_value=1, max_value=10**12))
def test_generated_names_are_always_valid(label, unique):
    name = remote_name(label, str(unique))
    assert len(name) <= 63
    assert VALID.match(name)
    assert name.endswith(f"-{unique}")
    assert not validate_remote_name(name)


@given(label=st.text(max_size=200), unique=st.integers(min_value=1, max_value=10**9), limit=st.integers(20, 63))
def test_lowercase_names_within_any_budget(label, unique, limit):
    name = remote_name(label, str(unique), max_length=limit, lowercase=True)
    assert len(name) <= limit and name == name.lower() and VALID.match(name)


def test_same_inputs_same_name():
    assert remote_name("Qwen/Qwen3-8B sft!", "42") == remote_name("Qwen/Qwen3-8B sft!", "42") == "mh-Qwen-Qwen3-8B-sft-42"


def test_truncation_never_leaves_a_trailing_dash_before_the_id():
    name = remote_name("a" * 57 + "-b", "7")
    assert "--" not in name and len(name) <= 63


def test_unique_must_be_an_id():
    with pytest.raises(ValueError):
        remote_name("x", "")


@pytest.mark.parametrize(
    "name, problem",
    [
        ("", "Enter a name."),
        ("ends-", "Start and end with a letter or digit."),
        ("has space", "Use only letters, digits and '-'."),
        ("x" * 64, "Use at most 63 characters (this has 64)."),
    ],
)
def test_validate_remote_name_explains(name, problem):
    assert problem in validate_remote_name(name)
