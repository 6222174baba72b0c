"""Endpoints walk through their states with the fake target reporting phases:
creating → in service / failed, updating, deleting; retries, adoption and lost messages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.backends.base import EndpointPhase as Phase
from apps.backends.errors import RemoteValidationError, TransientError
from apps.core import dispatch
from apps.endpoints import reconcile, services, tasks
from apps.endpoints.models import Endpoint, Status

from .factories import make_endpoint

pytestmark = pytest.mark.django_db

HEALTH_CHECK = "The primary container did not pass the ping health check."


def statuses(endpoint) -> list[str]:
    return [e.data["to"] for e in endpoint.events.filter(kind="status").order_by("id")]


def deploy(endpoint):
    tasks.deploy_endpoint.run(endpoint.pk)
    endpoint.refresh_from_db()
    return endpoint


def cycle(endpoint=None):
    result = tasks.reconcile_endpoints.run()
    if endpoint is not None:
        endpoint.refresh_from_db()
    return result


def test_creating_then_in_service(fake_serving, user):
    endpoint = deploy(make_endpoint(user))
    assert endpoint.status == Status.CREATING and endpoint.remote_phase == Phase.CREATING
    assert endpoint.invocation_url == f"https://fake/{endpoint.remote_name}"
    cycle(endpoint)
    assert endpoint.status == Status.CREATING  # still creating on the target
    cycle(endpoint)
    assert endpoint.status == Status.IN_SERVICE and endpoint.is_invocable
    assert statuses(endpoint) == ["queued", "creating", "in_service"]


def test_the_deployment_carries_the_rendered_engine_and_model(fake_serving, user):
    endpoint = deploy(make_endpoint(user, model_uri="s3://models-bucket/jobs/7/merged/"))
    sent = fake_serving.endpoints[endpoint.remote_name].deployment
    assert (sent.engine, sent.engine_version, sent.instance_type, sent.instance_count) == (
        "vllm", "0.30.0", "ml.g4dn.xlarge", 1)
    assert sent.model.uri == "s3://models-bucket/jobs/7/merged/" and sent.model.adapters == ()
    assert sent.environment["SM_VLLM_MAX_MODEL_LEN"] == "4096"
    assert sent.argv[:3] == ("python3", "-m", "vllm.entrypoints.openai.api_server")
    assert sent.options["inference_ami_version"] == "al2023-ami-sagemaker-inference-gpu-4-1"
    assert (sent.owner, sent.display_name, sent.served_model_name) == (user.username, endpoint.name, "merged")


def test_failed_keeps_the_failure_reason_and_the_log_tail(fake_serving, user, settings):
    settings.ENDPOINT_FAILURE_LOG_LINES = 3
    endpoint = make_endpoint(user)
    fake_serving.deploy_scripts[endpoint.remote_name] = (["creating", "failed"], HEALTH_CHECK)
    fake_serving.logs[endpoint.remote_name] = ["Loading weights", "Started engine", "CUDA out of memory",
                                               "Worker exited"]
    deploy(endpoint)
    cycle(endpoint)
    assert endpoint.status == Status.FAILED
    assert endpoint.status_reason == endpoint.failure_reason == HEALTH_CHECK
    [tail] = [e for e in endpoint.events.all() if e.data.get("log_tail")]
    assert tail.data["log_tail"] == ["Started engine", "CUDA out of memory", "Worker exited"]
    assert f"the fake target's log of {endpoint.remote_name}" in tail.message
    assert tail.level == "error"
    # The failure is terminal for the loop: further cycles change nothing.
    cycle(endpoint)
    assert endpoint.status == Status.FAILED


def test_a_target_without_logs_fails_without_a_tail(fake_serving, user, monkeypatch):
    from apps.backends.base import Capability
    from apps.backends.fake.serving import FakeServing

    monkeypatch.setattr(FakeServing, "capabilities", frozenset(Capability) - {Capability.LOGS})
    endpoint = make_endpoint(user)
    fake_serving.deploy_scripts[endpoint.remote_name] = (["failed"], "")
    fake_serving.logs[endpoint.remote_name] = ["never read"]
    deploy(endpoint)
    assert endpoint.status == Status.FAILED and endpoint.status_reason == "The target reports failed."
    assert not [e for e in endpoint.events.all() if e.data.get("log_tail")]
    assert ("logs", endpoint.remote_name) not in fake_serving.calls


def test_scale_walks_through_updating(fake_serving, user, inline_tasks):
    endpoint = deploy(make_endpoint(user))
    cycle(endpoint), cycle(endpoint)
    assert endpoint.status == Status.IN_SERVICE
    services.request_scale(endpoint, instance_count=3)
    endpoint.refresh_from_db()
    assert ("endpoints.update", (endpoint.pk,)) in inline_tasks
    assert endpoint.status == Status.UPDATING and endpoint.instance_count == 3
    assert fake_serving.endpoints[endpoint.remote_name].instance_count == 3
    cycle(endpoint)
    assert endpoint.status == Status.IN_SERVICE
    assert statuses(endpoint)[-2:] == ["updating", "in_service"]


@pytest.mark.parametrize("request_kwargs, missing", [
    ({"instance_count": 2}, "scaling"),
    ({"autoscaling": {"min_instances": 1, "max_instances": 2, "target_invocations_per_instance": 9}}, "autoscaling"),
])
def test_scaling_needs_the_targets_capability(fake_serving, user, monkeypatch, request_kwargs, missing):
    from apps.backends.base import Capability
    from apps.backends.fake.serving import FakeServing

    endpoint = deploy(make_endpoint(user))
    cycle(endpoint), cycle(endpoint)
    monkeypatch.setattr(FakeServing, "capabilities", frozenset(Capability) - {Capability(missing)})
    with pytest.raises(services.EndpointStateError, match="cannot"):
        services.request_scale(endpoint, **request_kwargs)
    endpoint.refresh_from_db()
    assert endpoint.status == Status.IN_SERVICE and not endpoint.autoscaling


def test_update_not_yet_seen_by_the_target_is_not_finished_by_the_loop(fake_serving, user):
    """The row says updating but the update task has not run: the loop must not call it done."""
    endpoint = deploy(make_endpoint(user))
    cycle(endpoint), cycle(endpoint)
    services.request_scale(endpoint, instance_count=2)  # its task never runs (no commit here)
    cycle(endpoint)
    assert endpoint.status == Status.UPDATING


def test_autoscaling_is_applied_once_the_endpoint_is_in_service(fake_serving, user, request):
    endpoint = make_endpoint(user)
    Endpoint.objects.filter(pk=endpoint.pk).update(spec={**endpoint.spec, "autoscaling": {
        "min_instances": 1, "max_instances": 3, "target_invocations_per_instance": 50}})
    endpoint = deploy(Endpoint.objects.get(pk=endpoint.pk))
    inline_tasks = request.getfixturevalue("inline_tasks")
    cycle(endpoint), cycle(endpoint)
    assert ("endpoints.update", (endpoint.pk,)) in inline_tasks
    assert endpoint.status == Status.IN_SERVICE
    applied = fake_serving.endpoints[endpoint.remote_name].autoscaling
    assert (applied.min_instances, applied.max_instances, applied.target_invocations_per_instance) == (1, 3, 50)
    assert endpoint.events.filter(message="Autoscaling applied.").exists()


def test_delete_walks_through_deleting(fake_serving, user, inline_tasks):
    endpoint = deploy(make_endpoint(user))
    services.request_delete(endpoint)
    endpoint.refresh_from_db()
    assert endpoint.status == Status.DELETING
    assert ("delete", endpoint.remote_name) in fake_serving.calls
    cycle(endpoint)
    assert endpoint.status == Status.DELETED
    assert statuses(endpoint)[-2:] == ["deleting", "deleted"]
    with pytest.raises(services.EndpointStateError):
        services.request_delete(endpoint)


def test_delete_of_a_failed_endpoint(fake_serving, user, request):
    endpoint = make_endpoint(user)
    fake_serving.deploy_scripts[endpoint.remote_name] = (["failed"], "Image not found")
    deploy(endpoint)
    assert endpoint.status == Status.FAILED and endpoint.status_reason == "Image not found"
    request.getfixturevalue("inline_tasks")
    services.request_delete(endpoint)
    cycle(endpoint)
    assert endpoint.status == Status.DELETED


def test_deploy_task_twice_adopts(fake_serving, user):
    endpoint = make_endpoint(user)
    tasks.deploy_endpoint.run(endpoint.pk)
    tasks.deploy_endpoint.run(endpoint.pk)
    assert [c for c in fake_serving.calls if c[0] == "deploy"] == [("deploy", endpoint.remote_name)]
    assert len(fake_serving.endpoints) == 1
    # A row put back to queued (a lost status write) deploys again and adopts the existing endpoint.
    Endpoint.objects.filter(pk=endpoint.pk).update(status=Status.QUEUED)
    tasks.deploy_endpoint.run(endpoint.pk)
    assert len(fake_serving.endpoints) == 1
    endpoint.refresh_from_db()
    assert endpoint.status == Status.CREATING
    assert endpoint.events.filter(kind="status", data__adopted=True).exists()


def test_transient_errors_are_retried_and_leave_the_endpoint_queued(fake_serving, user):
    endpoint = make_endpoint(user)
    fake_serving.raise_on["deploy"] = TransientError("the target is busy")
    with pytest.raises(TransientError):  # called directly, Task.retry re-raises the error
        tasks.deploy_endpoint.run(endpoint.pk)
    endpoint.refresh_from_db()
    assert endpoint.status == Status.QUEUED
    deploy(endpoint)
    assert endpoint.status == Status.CREATING


def test_other_backend_errors_fail_the_endpoint_with_the_message(fake_serving, user):
    endpoint = make_endpoint(user)
    fake_serving.raise_on["deploy"] = RemoteValidationError("The role is not authorized")
    deploy(endpoint)
    assert endpoint.status == Status.FAILED
    assert endpoint.status_reason == "The role is not authorized"


def test_a_target_without_a_backend_fails_the_deploy_with_a_reason(fake_serving, user):
    endpoint = deploy(make_endpoint(user, target="nowhere"))
    assert endpoint.status == Status.FAILED
    assert "No serving backend named 'nowhere'" in endpoint.status_reason


def test_an_error_while_scaling_an_endpoint_that_keeps_serving_is_only_recorded(fake_serving, user):
    endpoint = deploy(make_endpoint(user))
    cycle(endpoint), cycle(endpoint)
    fake_serving.raise_on["update"] = RemoteValidationError("Autoscaling is not allowed here")
    tasks.update_endpoint.run(endpoint.pk)
    endpoint.refresh_from_db()
    assert endpoint.status == Status.IN_SERVICE
    assert endpoint.events.filter(level="error", message="Autoscaling is not allowed here").exists()


def test_an_endpoint_deleted_outside_modelhub_fails_with_a_reason(fake_serving, user):
    endpoint = deploy(make_endpoint(user))
    cycle(endpoint), cycle(endpoint)
    del fake_serving.endpoints[endpoint.remote_name]
    cycle(endpoint)
    assert endpoint.status == Status.FAILED
    assert "no longer exists" in endpoint.status_reason


def test_lost_messages_are_sent_again(fake_serving, user, settings, request):
    settings.ENDPOINT_STALE_SECONDS = 60
    old = timezone.now() - timedelta(minutes=10)
    lost_deploy = make_endpoint(user)
    fresh = make_endpoint(user)
    lost_delete = make_endpoint(user, status=Status.DELETING)  # the delete call never reached the target
    fake_serving.deploy_scripts[lost_delete.remote_name] = (["in_service"], "")
    fake_serving.create(lost_delete.remote_name)
    Endpoint.objects.filter(pk__in=[lost_deploy.pk, lost_delete.pk]).update(status_changed_at=old)
    inline_tasks = request.getfixturevalue("inline_tasks")
    result = cycle()
    assert ("endpoints.deploy", (lost_deploy.pk,)) in inline_tasks
    assert ("endpoints.deploy", (fresh.pk,)) not in inline_tasks
    assert ("endpoints.delete", (lost_delete.pk,)) in inline_tasks
    assert result["queued"] == 1 and result["deleting"] == 1 and result["updating"] == 0
    assert Endpoint.objects.get(pk=lost_deploy.pk).status == Status.CREATING
    assert fake_serving.endpoints[lost_delete.remote_name].status == "deleting"


def test_a_lost_update_is_sent_again_only_while_the_target_still_serves(fake_serving, user, inline_tasks, settings):
    settings.ENDPOINT_STALE_SECONDS = 60
    endpoint = deploy(make_endpoint(user))
    cycle(endpoint), cycle(endpoint)
    with pytest.MonkeyPatch.context() as mp:  # the broker refuses the update's message
        mp.setattr(dispatch, "send_now", lambda task, *args: False)
        services.request_scale(endpoint, instance_count=2)
    old = timezone.now() - timedelta(minutes=10)
    Endpoint.objects.filter(pk=endpoint.pk).update(status_changed_at=old)
    assert reconcile.lost_work()[Status.UPDATING] == [endpoint.pk]
    Endpoint.objects.filter(pk=endpoint.pk).update(remote_phase=Phase.UPDATING)
    assert reconcile.lost_work()[Status.UPDATING] == []


@pytest.mark.parametrize("current, phase, previous, expected", [
    ("creating", Phase.CREATING, Phase.CREATING, None),
    ("creating", Phase.IN_SERVICE, Phase.CREATING, "in_service"),
    ("creating", Phase.FAILED, Phase.CREATING, "failed"),
    ("creating", Phase.NOT_FOUND, Phase.CREATING, "failed"),
    ("creating", Phase.UPDATING, Phase.CREATING, None),
    ("in_service", Phase.UPDATING, Phase.IN_SERVICE, "updating"),
    ("in_service", Phase.MAINTENANCE, Phase.IN_SERVICE, None),
    ("in_service", Phase.FAILED, Phase.IN_SERVICE, "failed"),
    ("updating", Phase.IN_SERVICE, Phase.UPDATING, "in_service"),
    ("updating", Phase.IN_SERVICE, Phase.IN_SERVICE, None),
    ("updating", Phase.UPDATING, Phase.UPDATING, None),
    ("updating", Phase.FAILED, Phase.UPDATING, "failed"),
    ("deleting", Phase.IN_SERVICE, Phase.IN_SERVICE, None),
    ("deleting", Phase.DELETING, Phase.IN_SERVICE, None),
    ("deleting", Phase.NOT_FOUND, Phase.DELETING, "deleted"),
    ("failed", Phase.IN_SERVICE, Phase.FAILED, None),
    ("queued", Phase.NOT_FOUND, "", None),
    ("in_service", Phase.UNKNOWN, Phase.IN_SERVICE, None),
])
def test_phase_mapping(current, phase, previous, expected):
    assert reconcile.next_status(current, phase, previous) == expected


def test_unknown_status_is_recorded_and_changes_nothing(fake_serving, user):
    endpoint = deploy(make_endpoint(user))
    cycle(endpoint), cycle(endpoint)
    fake_serving.endpoints[endpoint.remote_name].script = ["Hibernating"]
    cycle(endpoint)
    assert endpoint.status == Status.IN_SERVICE and endpoint.remote_status == "Hibernating"
    assert endpoint.remote_phase == Phase.UNKNOWN
    assert endpoint.events.filter(kind="remote", message__contains="Hibernating").exists()


def test_the_reconcile_task_ends_before_its_next_cycle(settings):
    from datetime import timedelta as interval

    from modelhub.celery import app

    entry = app.conf.beat_schedule["endpoints.reconcile"]
    assert tasks.reconcile_endpoints.soft_time_limit < tasks.reconcile_endpoints.time_limit
    assert tasks.reconcile_endpoints.time_limit < entry["schedule"] / interval(seconds=1)
