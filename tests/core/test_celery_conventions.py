"""Every ModelHub task follows the conventions: explicit name, time limits, a known queue, JSON only."""

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
        limits = (task.soft_time_limit or app.conf.task_soft_time_limit, task.time_limit or app.conf.task_time_limit)
        assert limits[0] and limits[1] > limits[0], f"{name} has no sensible time limits"


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
