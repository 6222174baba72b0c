"""Every ModelHub task follows the conventions: explicit name, its own time limits, a known queue, JSON only,
and no scheduled task can outlive its interval (so two cycles never overlap)."""

import pytest

from modelhub.celery import app

QUEUES = {"control", "io"}


def our_tasks():
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_task_has_an_explicit_name_and_time_limits():
    tasks = our_tasks()
    assert {"core.worker_ping", "jobs.submit", "endpoints.deploy", "catalog.validate_dataset"} <= set(tasks)
    for name, task in tasks.items():
        module = task.__module__.split(".")
        assert module[0] == "apps" and name.split(".")[0] == module[1], f"{name} is not named after its app"
        # The task's own limits, not the global defaults: each task says how long it may take.
        assert task.soft_time_limit and task.time_limit, f"{name} sets no time limits of its own"
        assert task.time_limit > task.soft_time_limit, f"{name}: the soft limit must leave time before the hard one"


@pytest.mark.parametrize("entry_name", list(app.conf.beat_schedule))
def test_every_scheduled_task_ends_before_its_next_run(entry_name):
    entry = app.conf.beat_schedule[entry_name]
    task = our_tasks()[entry["task"]]
    interval = entry["schedule"].total_seconds()
    assert task.time_limit, f"{entry['task']} (beat entry {entry_name}) sets no hard time limit of its own"
    assert task.time_limit < interval, (
        f"{entry['task']} may run {task.time_limit} s but is scheduled every {interval:g} s: cycles could overlap")


def test_every_task_is_routed_to_a_known_queue_and_slow_io_is_separate():
    routes = {name: app.amqp.router.route({}, name)["queue"].name for name in our_tasks()}
    assert set(routes.values()) <= QUEUES
    assert routes["jobs.submit"] == "io" and routes["catalog.validate_dataset"] == "io"
    assert routes["core.worker_ping"] == "control" and routes["endpoints.reconcile"] == "control"


def test_reliability_settings():
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    for name, entry in conf.beat_schedule.items():
        assert entry["task"] in our_tasks(), f"beat entry {name} names an unknown task"
        assert 0 < entry["options"]["expires"] < entry["schedule"].total_seconds()
