"""Bounds on untrusted input: nesting depth of values, JSON bodies, code and templates.

Pure functions (no Django, no I/O): each returns a problem in words, or raises `LimitExceeded`, before
anything expensive or recursive runs on the input. Callers turn them into their own error shape (a
field error, the API's error body, an OpenAI error).
"""

import ast
import json
import re

# Deepest nesting accepted in a request body or a dataset row. Real bodies and rows nest 4 to 8 levels
# (a chat message with content parts, a ShareGPT turn); 64 leaves ample room and keeps every recursive
# walk over the value far below Python's recursion limit.
MAX_DEPTH = 64
# Deepest syntax tree accepted in user code that is parsed (never run) here, such as custom reward code.
# Ordinary functions stay under 30 levels; compiling far deeper trees exhausts Python's recursion limit.
MAX_CODE_DEPTH = 100
# Deepest nesting of Jinja blocks ({% if %}, {% for %}, ...) in a user's template.
MAX_TEMPLATE_NESTING = 32


class LimitExceeded(ValueError):
    """Input over one of the bounds above; `message` says which, in words."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def depth(value, *, stop_at: int = MAX_DEPTH + 1) -> int:
    """How deeply lists and dicts nest in `value` (a scalar is 0, `[]` is 1), counted without recursion.

    Stops counting at `stop_at`, so the answer for a hostile value costs at most what it took to build.
    """
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest >= stop_at:
            return deepest
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list | tuple))
    return deepest


def too_deep(value, max_depth: int = MAX_DEPTH) -> str | None:
    if depth(value, stop_at=max_depth + 1) > max_depth:
        return f"nested more than {max_depth} levels deep"
    return None


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH):
    """json.loads, but nesting past `max_depth` raises LimitExceeded (never RecursionError), and so does
    a document nested so deep that the decoder itself gives up."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise LimitExceeded(f"The JSON is nested more than {max_depth} levels deep.") from None
    if too_deep(value, max_depth):
        raise LimitExceeded(f"The JSON is nested more than {max_depth} levels deep.")
    return value


def parse_python(code: str, max_depth: int = MAX_CODE_DEPTH) -> ast.Module:
    """ast.parse, but an expression or statement nested past `max_depth` (a 20,000-term sum is a BinOp
    chain 20,000 deep) raises LimitExceeded instead of RecursionError; SyntaxError passes through."""
    try:
        tree = ast.parse(code)
    except (RecursionError, MemoryError):
        raise LimitExceeded(f"The code nests expressions more than {max_depth} levels deep; split it up.") from None
    stack = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        if level > max_depth:
            raise LimitExceeded(f"The code nests expressions more than {max_depth} levels deep; split it up.")
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return tree


_BLOCK_TAG = re.compile(r"\{%-?\s*(\w+)")
_OPENING = {"if", "for", "block", "macro", "call", "filter", "with", "raw", "set", "autoescape", "trans"}


def template_problem(template: str, max_nesting: int = MAX_TEMPLATE_NESTING) -> str | None:
    """Jinja blocks nested deeper than `max_nesting`, checked on the text before Jinja parses it (Jinja's
    parser recurses once per level: 3,000 nested blocks exhaust Python's recursion limit)."""
    level = 0
    for match in _BLOCK_TAG.finditer(template):
        tag = match.group(1)
        if tag.startswith("end"):
            level = max(0, level - 1)
        elif tag in _OPENING:
            # `{% set x = ... %}` opens nothing; only the block form `{% set x %}...{% endset %}` does.
            if tag == "set" and "=" in template[match.end(): template.find("%}", match.end())]:
                continue
            level += 1
            if level > max_nesting:
                return f"The template nests blocks more than {max_nesting} levels deep."
    return None


_ASCII_ID = re.compile(r"[0-9]{1,18}")


def parse_id(value) -> int | None:
    """A database id from user input, or None. Only ASCII digits count: str.isdigit() also accepts "²" and
    "①", which int() then refuses (a 500 where a field error was due), and very long digit strings overflow
    the database's integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 10**18 else None
    text = str(value).strip()
    return int(text) if _ASCII_ID.fullmatch(text) and int(text) > 0 else None

