import pytest

from apps.core.statemachine import InvalidTransition, StateMachine

MACHINE = StateMachine({"queued": {"running", "failed"}, "running": {"done", "failed"}, "done": (), "failed": ()})


def test_terminal_and_active_states():
    assert MACHINE.terminal == {"done", "failed"}
    assert MACHINE.active == {"queued", "running"}


def test_allows_only_declared_moves():
    assert MACHINE.allows("queued", "running")
    assert not MACHINE.allows("running", "queued")
    assert not MACHINE.allows("done", "running")
    assert not MACHINE.allows("nonsense", "running")
    with pytest.raises(InvalidTransition):
        MACHINE.check("failed", "running")


def test_targets_must_be_declared_states():
    with pytest.raises(ValueError, match="ghost"):
        StateMachine({"a": {"ghost"}})
