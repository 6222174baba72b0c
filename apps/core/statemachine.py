"""Explicit status state machines for jobs, endpoints and clusters.

A model declares its machine and has an event model (a subclass of `apps.core.models.Event` whose
foreign key has `related_name=events_related_name`); `transition()` moves the row with a
compare-and-set UPDATE, so two workers acting on the same row can never both win, and every
move is recorded as an event with its reason.
"""

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from django.db import models
from django.utils import timezone


class InvalidTransition(Exception):
    pass


class StateMachine:
    def __init__(self, transitions: Mapping[str, Iterable[str]]):
        self.transitions = {state: frozenset(targets) for state, targets in transitions.items()}
        unknown = {t for targets in self.transitions.values() for t in targets} - set(self.transitions)
        if unknown:
            raise ValueError(f"Targets without a state entry: {sorted(unknown)}")

    @property
    def states(self) -> list[str]:
        return list(self.transitions)

    @property
    def terminal(self) -> frozenset[str]:
        return frozenset(s for s, targets in self.transitions.items() if not targets)

    @property
    def active(self) -> frozenset[str]:
        return frozenset(self.transitions) - self.terminal

    def allows(self, current: str, new: str) -> bool:
        return new in self.transitions.get(current, ())

    def check(self, current: str, new: str) -> None:
        if not self.allows(current, new):
            raise InvalidTransition(f"Cannot go from {current!r} to {new!r}.")


class StatefulModel(models.Model):
    """A row with a status driven by `machine`; subclasses set `machine`, and their event model's foreign key
    uses `related_name=events_related_name` ("events")."""

    machine: ClassVar[StateMachine]
    failure_states: ClassVar[frozenset[str]] = frozenset()
    events_related_name: ClassVar[str] = "events"

    status = models.CharField(max_length=32, db_index=True)
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    @property
    def is_terminal(self) -> bool:
        return self.status in self.machine.terminal

    def record_event(self, message: str, *, level: str = "info", kind: str = "message", data: dict | None = None):
        return getattr(self, self.events_related_name).create(
            message=message, level=level, kind=kind, data=data or {}
        )

    def transition(self, new: str, reason: str = "", *, data: dict[str, Any] | None = None, **fields) -> bool:
        """Move to `new` if the machine allows it from the row's current status.

        Returns False (and changes nothing) when the move is not allowed or another process
        moved the row first. Extra `fields` are written in the same UPDATE.
        """
        old = self.status
        if not self.machine.allows(old, new):
            return False
        now = timezone.now()
        values = {"status": new, "status_reason": reason, "status_changed_at": now, **fields}
        updated = type(self)._base_manager.filter(pk=self.pk, status=old).update(**values)
        if not updated:
            self.refresh_from_db()
            return False
        for name, value in values.items():
            setattr(self, name, value)
        level = "error" if new in self.failure_states else "info"
        message = f"{old} → {new}" + (f": {reason}" if reason else "")
        self.record_event(message, level=level, kind="status", data={"from": old, "to": new, **(data or {})})
        return True
