"""Remote resource names derived from our ids.

A name is a sanitised label followed by a unique suffix taken from our primary key, so creating
the same object twice finds the same name, and names never collide. Names obey the common
cloud rules by construction: only [a-zA-Z0-9-] (lowercase for Kubernetes), start with a letter
or digit, never end in '-', never longer than `max_length`.
"""

import re

_NOT_ALLOWED = re.compile(r"[^a-zA-Z0-9]+")


def slugify_label(label: str, *, lowercase: bool = False) -> str:
    slug = _NOT_ALLOWED.sub("-", label).strip("-")
    return slug.lower() if lowercase else slug


def remote_name(label: str, unique: str, *, prefix: str = "mh", max_length: int = 63, lowercase: bool = False) -> str:
    """`<prefix>-<label>-<unique>`, with the label cut to fit.

    `unique` must be a non-empty alphanumeric string (an id); it always survives intact.
    """
    unique = slugify_label(str(unique), lowercase=lowercase)
    if not unique or "-" in unique:
        raise ValueError("unique must be a non-empty alphanumeric id")
    head = slugify_label(prefix, lowercase=lowercase)
    fixed = len(head) + len(unique) + 2  # two dashes
    if fixed > max_length:
        raise ValueError(f"prefix and id alone exceed {max_length} characters")
    body = slugify_label(label, lowercase=lowercase)[: max_length - fixed].strip("-")
    parts = [p for p in (head, body, unique) if p]
    return "-".join(parts)


def validate_remote_name(name: str, *, max_length: int = 63, lowercase: bool = False) -> list[str]:
    """Problems with a user-supplied name, in words; empty when it is valid."""
    problems = []
    allowed = r"[a-z0-9-]" if lowercase else r"[a-zA-Z0-9-]"
    if not name:
        return ["Enter a name."]
    if len(name) > max_length:
        problems.append(f"Use at most {max_length} characters (this has {len(name)}).")
    if not re.fullmatch(rf"{allowed}+", name):
        letters = "lowercase letters" if lowercase else "letters"
        problems.append(f"Use only {letters}, digits and '-'.")
    if name.startswith("-") or name.endswith("-"):
        problems.append("Start and end with a letter or digit.")
    return problems
