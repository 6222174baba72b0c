"""apps/core/limits.py: bounds checked on the text or value, before anything recursive runs on it."""

import json

import pytest

from apps.core import limits


def test_depth_counts_without_recursion_and_stops_early():
    assert limits.depth(1) == 0 and limits.depth([]) == 1 and limits.depth({"a": [1, {"b": []}]}) == 4
    hostile = current = []
    for _ in range(200_000):  # far past Python's recursion limit
        current.append([])
        current = current[0]
    assert limits.depth(hostile, stop_at=65) == 65
    assert limits.too_deep(hostile) == "nested more than 64 levels deep"
    assert limits.too_deep([[["ok"]]]) is None


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "[" * 65 + "]" * 65,
                                  '{"a":' * 3000 + "1" + "}" * 3000])
def test_loads_refuses_deep_json_with_limit_exceeded_not_recursion_error(text):
    with pytest.raises(limits.LimitExceeded, match="nested more than 64 levels"):
        limits.loads(text)


def test_loads_passes_ordinary_json_and_syntax_errors_through():
    assert limits.loads('{"messages": [{"role": "user", "content": [{"type": "text"}]}]}')["messages"][0]["role"]
    assert limits.loads("[" * 64 + "]" * 64) is not None
    with pytest.raises(json.JSONDecodeError):
        limits.loads("{nope")


def test_a_20000_term_expression_is_refused_and_ordinary_code_parses():
    with pytest.raises(limits.LimitExceeded, match="more than 100 levels"):
        limits.parse_python("def compute_score(x):\n    return " + " + ".join(["x"] * 20_000) + "\n")
    with pytest.raises(limits.LimitExceeded):
        limits.parse_python("y = " + "[" * 150 + "1" + "]" * 150)
    tree = limits.parse_python('REWARD_TYPE = "batch"\ndef compute_score(xs):\n    return [len(x) * 0.1 for x in xs]\n')
    assert tree.body[1].name == "compute_score"
    with pytest.raises(SyntaxError):
        limits.parse_python("def (:")


def test_templates_with_thousands_of_nested_blocks_are_refused_before_jinja_parses_them():
    hostile = "{% if a %}" * 3000 + "{{ content }}" + "{% endif %}" * 3000
    assert limits.template_problem(hostile) == "The template nests blocks more than 32 levels deep."
    fine = "{% set n = 1 %}{% for x in xs %}{%- if x %}{{ content }}{% endif %}{% endfor %}" * 100
    assert limits.template_problem(fine) is None
    assert limits.template_problem("{% set body %}" * 40) is not None  # the block form of set opens a block


@pytest.mark.parametrize("value, expected", [
    ("12", 12), (12, 12), (" 7 ", 7), ("²", None), ("①", None), ("\u0663", None), ("0", None), ("-1", None),
    ("9" * 30, None), (True, None), ("", None), (None, None), ("1e3", None),
])
def test_parse_id_takes_only_ascii_digits(value, expected):
    assert limits.parse_id(value) == expected
