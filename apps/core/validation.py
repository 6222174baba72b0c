"""One validation shape for everything a user asks ModelHub to create (job specs, deploy specs).

`validate_job(data, user)` (apps.jobs.spec) and `validate_deploy(data, user)` (apps.endpoints.spec)
both return a `Validated`: the frozen value to create from (`.value`), or the field errors
(`.errors`, field -> messages) and nothing else. The API raises `.errors` as a 400, the HTML forms
attach them to their fields; neither validates anything itself.

Strict request types, shared by both specs: a number is a JSON number or a numeric string (what an
HTML form posts), never `true`/`false`; a switch is a JSON boolean (the forms convert their
checkboxes); keys the spec does not define are refused by name instead of being ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

T = TypeVar("T")

UNKNOWN_FIELD = "Unknown field: this spec has no such setting."


@dataclass(frozen=True)
class Validated(Generic[T]):
    """The result of validating a request: a value to create from, or field errors (never both)."""

    value: T | None
    errors: Mapping[str, Any] = field(default_factory=dict)  # field -> [messages] (nested parts: their own map)
    notes: tuple[str, ...] = ()  # defaults the validator chose that the user should know about
    fit: Any = None  # deploy only: the memory-fit estimate, also when other fields are invalid

    @property
    def ok(self) -> bool:
        return not self.errors

    def or_raise(self) -> T:
        """The value, or a DRF ValidationError carrying the field errors (a 400 in the API)."""
        if self.errors:
            raise ValidationError(dict(self.errors))
        return self.value


def invalid(errors: Mapping[str, Any], **extra) -> Validated:
    return Validated(value=None, errors={k: plain(v) for k, v in errors.items()}, **extra)


def plain(messages: Any) -> Any:
    """DRF error details as plain data: lists of str, dicts (nested serializers) kept as dicts."""
    if isinstance(messages, Mapping):
        return {k: plain(v) for k, v in messages.items()}
    if isinstance(messages, list | tuple):
        return [plain(m) for m in messages]
    return str(messages)


def flatten(messages: Any) -> list[str]:
    """Every message of an error detail, nested parts included, as one list."""
    if isinstance(messages, Mapping):
        return [m for value in messages.values() for m in flatten(value)]
    if isinstance(messages, list | tuple):
        return [m for value in messages for m in flatten(value)]
    return [str(messages)]


def unknown_fields(data: Mapping, known: Iterable[str]) -> dict[str, list[str]]:
    """One error per key of `data` that is not in `known`."""
    known = set(known)
    return {key: [UNKNOWN_FIELD] for key in data if key not in known}


def as_plain_dict(data) -> dict:
    """A QueryDict (form post) or any mapping (JSON) as a plain dict, nested JSON left as is."""
    if hasattr(data, "getlist"):
        return {key: data.get(key) for key in data}
    return dict(data)


# --- strict field types -----------------------------------------------------------------------------

class _NoBooleans:
    default_error_messages = {"boolean": "Enter a number, not true or false."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("boolean")
        return super().to_internal_value(data)


class StrictIntegerField(_NoBooleans, serializers.IntegerField):
    """An integer; `true` is not 1."""


class StrictFloatField(_NoBooleans, serializers.FloatField):
    """A number; `true` is not 1.0."""


class StrictChoiceField(_NoBooleans, serializers.ChoiceField):
    """A choice among numbers or strings; `true` is not the choice 1 or "True"."""


class StrictBooleanField(serializers.BooleanField):
    """true or false only (DRF's BooleanField also takes "yes", "on", 1, ...)."""

    default_error_messages = {"invalid": "Enter true or false."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)
