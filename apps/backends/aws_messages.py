"""AWS error messages made readable: a validation error lists every allowed value of an enum (hundreds of
instance types), which buries the one value that was wrong. Keep the value and a few allowed ones."""

import re

ENUM_SET = re.compile(r"(?:Member must satisfy enum value set|Value must be one of):?\s*\[([^\]]*)\]")
SHOWN = 6


def _short_set(match: re.Match) -> str:
    values = [v.strip() for v in match.group(1).split(",") if v.strip()]
    if len(values) <= SHOWN:
        return match.group(0)
    return f"Member must be one of {len(values)} allowed values (e.g. {', '.join(values[:SHOWN])}, …)"


def readable(message: str) -> str:
    return ENUM_SET.sub(_short_set, message)
