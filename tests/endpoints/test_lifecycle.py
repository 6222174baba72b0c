"""Endpoints walk through their states with the scripted fake playing SageMaker:
Creating → InService / Failed, Updating, Deleting; retries, adoption and lost messages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.backends.errors import RemoteValidationError, TransientError
from apps.endpoints import reconcile, services, tasks
from apps.endpoints.models import Endpoint, Status

from .factories import make_endpoint
from .fakes import ScriptedServing

pytestmark = pytest.mark.django_db

HEALTH_CHECK = ("The primary container for production variant AllTraffic did not pass the ping health check. "
                "Please check CloudWatch logs for this endpoint.")


def statuses(endpoint) -> list[str]:
    return [e.data["to"] for e in endpoint.events.filter(kind="status").order_by("id")]


def deploy(endpoint):
    tasks.deploy_endpoint.run(endpoint.pk)
    endpoint.refresh_from_db()
    return endpoint


def cycle(endpoint=None):
    result = reconcile.reconcile_all()
    if endpoint is not None:
        endpoint.refresh_from_db()
    return result


def test_creating_then_in_service(scripted_backend, user):
    endpoint = deploy(make_endpoint(user))
    assert endpoint.status == Status.CREATING and endpoint.remote_status == "Creating"
    assert endpoint.invocation_url == f"https://fake/{endpoint.remote_name}"
    cycle(endpoint)
    assert endpoint.status == Status.CREATING  # still Creating on the service
    cycle(endpoint)
    assert endpoint.status == Status.IN_SERVICE and endpoint.is_invocable
    assert statuses(endpoint) == ["queued", "creating", "in_service"]


def test_failed_keeps_the_failure_reason_and_the_log_tail(scripted_backend, user, settings):
    settings.ENDPOINT_FAILURE_LOG_LINES = 3
    endpoint = make_endpoint(user)
    scripted_backend.deploy_scripts[endpoint.remote_name] = (["Creating", "Failed"], HEALTH_CHECK)
    scripted_backend.logs[endpoint.remote_name] = ["Loading weights", "Started engine", "CUDA out of memory",
                                                    "Worker exited"]
    deploy(endpoint)
    cycle(endpoint)
    assert endpoint.status == Status.FAILED
    assert endpoint.status_reason == endpoint.failure_reason == HEALTH_CHECK
    [tail] = [e for e in endpoint.events.all() if e.data.get("log_tail")]
    assert tail.data["log_tail"] == ["Started engine", "CUDA out of memory", "Worker exited"]
    assert f"/aws/sagemaker/Endpoints/{endpoint.remote_name}" in tail.message
    assert tail.level == "error"
    # The failure is terminal for the loop: further cycles change nothing.
    cycle(endpoint)
    assert endpoint.status == Status.FAILED


def test_scale_walks_through_updating(scripted_backend, user, django_capture_on_commit_callbacks, run_tasks_inline):
    endpoint = deploy(make_endpoint(user))
    cycle(endpoint), cycle(endpoint)
    assert endpoint.status == Status.IN_SERVICE
    with django_capture_on_commit_callbacks(execute=True):
        services.request_scale(endpoint, instance_count=3)
    endpoint.refresh_from_db()
    assert ("update_endpoint", endpoint.pk) in run_tasks_inline
    assert endpoint.status == Status.UPDATING and endpoint.instance_count == 3
    assert scripted_backend.endpoints[endpoint.remote_name].instance_count == 3
    cycle(endpoint)
    assert endpoint.status == Status.IN_SERVICE
    assert statuses(endpoint)[-2:] == ["updating", "in_service"]


def test_update_not_yet_seen_by_the_service_is_not_finished_by_the_loop(scripted_backend, user):
    """The row says updating but the update task has not run: the loop must not call it done."""
    endpoint = deploy(make_endpoint(user))
    cycle(endpoint), cycle(endpoint)
    services.request_scale(endpoint, instance_count=2)  # its task never runs (no commit here)
    cycle(endpoint)
    assert endpoint.status == Status.UPDATING


def test_autoscaling_is_applied_once_the_endpoint_is_in_service(scripted_backend, user,
                                                                 django_capture_on_commit_callbacks, run_tasks_inline):
    endpoint = make_endpoint(user)
    Endpoint.objects.filter(pk=endpoint.pk).update(spec={**endpoint.spec, "autoscaling": {
        "min_instances": 1, "max_instances": 3, "target_invocations_per_instance": 50}})
    endpoint = deploy(Endpoint.objects.get(pk=endpoint.pk))
    with django_capture_on_commit_callbacks(execute=True):
        cycle(endpoint), cycle(endpoint)
    assert endpoint.status == Status.IN_SERVICE
    assert scripted_backend.endpoints[endpoint.remote_name].autoscaling["max_instances"] == 3
    assert endpoint.events.filter(message="Autoscaling applied.").exists()


def test_delete_walks_through_deleting(scripted_backend, user, django_capture_on_commit_callbacks, run_tasks_inline):
    endpoint = deploy(make_endpoint(user))
    with django_capture_on_commit_callbacks(execute=True):
        services.request_delete(endpoint)
    endpoint.refresh_from_db()
    assert endpoint.status == Status.DELETING
    assert ("delete", endpoint.remote_name) in scripted_backend.calls
    cycle(endpoint)
    assert endpoint.status == Status.DELETED
    assert statuses(endpoint)[-2:] == ["deleting", "deleted"]
    with pytest.raises(services.EndpointStateError):
        services.request_delete(endpoint)


def test_delete_of_a_failed_endpoint(scripted_backend, user, django_capture_on_commit_callbacks, run_tasks_inline):
    endpoint = make_endpoint(user)
    scripted_backend.deploy_scripts[endpoint.remote_name] = (["Failed"], "Image not found")
    deploy(endpoint)
    assert endpoint.status == Status.FAILED and endpoint.status_reason == "Image not found"
    with django_capture_on_commit_callbacks(execute=True):
        services.request_delete(endpoint)
    cycle(endpoint)
    assert endpoint.status == Status.DELETED


def test_deploy_task_twice_adopts(scripted_backend, user):
    endpoint = make_endpoint(user)
    tasks.deploy_endpoint.run(endpoint.pk)
    tasks.deploy_endpoint.run(endpoint.pk)
    assert [c for c in scripted_backend.calls if c[0] == "deploy"] == [("deploy", endpoint.remote_name)]
    assert len(scripted_backend.endpoints) == 1
    # A row put back to queued (a lost status write) deploys again and adopts the existing endpoint.
    Endpoint.objects.filter(pk=endpoint.pk).update(status=Status.QUEUED)
    tasks.deploy_endpoint.run(endpoint.pk)
    assert len(scripted_backend.endpoints) == 1
    assert Endpoint.objects.get(pk=endpoint.pk).status == Status.CREATING


def test_transient_errors_are_retried_and_leave_the_endpoint_queued(scripted_backend, user):
    endpoint = make_endpoint(user)
    scripted_backend.raise_on["deploy"] = TransientError("AWS is busy (ThrottlingException)")
    with pytest.raises(TransientError):  # called directly, Task.retry re-raises the error
        tasks.deploy_endpoint.run(endpoint.pk)
    endpoint.refresh_from_db()
    assert endpoint.status == Status.QUEUED
    assert endpoint.events.filter(level="warning", message__contains="retrying").exists()
    deploy(endpoint)
    assert endpoint.status == Status.CREATING


def test_other_backend_errors_fail_the_endpoint_with_the_message(scripted_backend, user):
    endpoint = make_endpoint(user)
    scripted_backend.raise_on["deploy"] = RemoteValidationError("ValidationException: Role is not authorized")
    deploy(endpoint)
    assert endpoint.status == Status.FAILED
    assert endpoint.status_reason == "ValidationException: Role is not authorized"


def test_an_endpoint_deleted_outside_modelhub_fails_with_a_reason(scripted_backend, user):
    endpoint = deploy(make_endpoint(user))
    cycle(endpoint), cycle(endpoint)
    del scripted_backend.endpoints[endpoint.remote_name]
    cycle(endpoint)
    assert endpoint.status == Status.FAILED
    assert "no longer exists" in endpoint.status_reason


def test_lost_messages_are_sent_again(scripted_backend, user, run_tasks_inline, settings):
    settings.ENDPOINT_STALE_SECONDS = 60
    old = timezone.now() - timedelta(minutes=10)
    lost_deploy = make_endpoint(user)
    fresh = make_endpoint(user)
    lost_delete = make_endpoint(user, status=Status.DELETING)  # the delete call never reached the service
    scripted_backend.deploy_scripts[lost_delete.remote_name] = (["InService"], "")
    ScriptedServing().create(lost_delete.remote_name)
    Endpoint.objects.filter(pk__in=[lost_deploy.pk, lost_delete.pk]).update(status_changed_at=old)
    result = cycle()
    assert ("deploy_endpoint", lost_deploy.pk) in run_tasks_inline
    assert ("deploy_endpoint", fresh.pk) not in run_tasks_inline
    assert ("delete_endpoint", lost_delete.pk) in run_tasks_inline
    assert result["queued"] == 1 and result["deleting"] == 1
    assert Endpoint.objects.get(pk=lost_deploy.pk).status == Status.CREATING
    assert scripted_backend.endpoints[lost_delete.remote_name].status == "Deleting"


@pytest.mark.parametrize("current, remote, previous, expected", [
    ("creating", "Creating", "Creating", None),
    ("creating", "InService", "Creating", "in_service"),
    ("creating", "Failed", "Creating", "failed"),
    ("creating", "NotFound", "Creating", "failed"),
    ("in_service", "Updating", "InService", "updating"),
    ("in_service", "SystemUpdating", "InService", None),
    ("in_service", "OutOfService", "InService", "failed"),
    ("updating", "InService", "Updating", "in_service"),
    ("updating", "InService", "InService", None),
    ("updating", "RollingBack", "Updating", None),
    ("updating", "UpdateRollbackFailed", "RollingBack", "failed"),
    ("deleting", "InService", "InService", None),
    ("deleting", "Deleting", "InService", None),
    ("deleting", "NotFound", "Deleting", "deleted"),
    ("failed", "InService", "Failed", None),
    ("in_service", "SomethingNew", "InService", None),
])
def test_remote_status_mapping(current, remote, previous, expected):
    assert reconcile.next_status(current, remote, previous) == expected


def test_unknown_remote_status_is_recorded_and_changes_nothing(scripted_backend, user):
    endpoint = deploy(make_endpoint(user))
    cycle(endpoint), cycle(endpoint)
    scripted_backend.endpoints[endpoint.remote_name].script = ["Hibernating"]
    cycle(endpoint)
    assert endpoint.status == Status.IN_SERVICE and endpoint.remote_status == "Hibernating"
    assert endpoint.events.filter(kind="remote", message__contains="Hibernating").exists()
