"""A validation whose worker died is sent again within minutes; one still running is left alone."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from apps.catalog import services
from apps.catalog.models import Dataset
from apps.catalog.tasks import redispatch_validations, validate_dataset


@pytest.mark.django_db
def test_a_validation_left_without_heartbeat_is_redispatched_within_the_stale_window(user, settings):
    settings.DATASET_VALIDATION_STALE_SECONDS = 600
    dead = Dataset.objects.create(owner=user, name="dead", source="upload", status="validating")
    alive = Dataset.objects.create(owner=user, name="alive", source="upload", status="validating")
    Dataset.objects.filter(pk=dead.pk).update(status_changed_at=timezone.now() - timedelta(minutes=11))
    Dataset.objects.filter(pk=alive.pk).update(status_changed_at=timezone.now() - timedelta(minutes=9))
    with mock.patch.object(validate_dataset, "delay") as delay:
        assert redispatch_validations.run() == 1
    delay.assert_called_once_with(dead.pk)


@pytest.mark.django_db
def test_a_running_validation_renews_its_heartbeat(user, settings, tmp_path, monkeypatch):
    settings.DATASET_VALIDATION_STALE_SECONDS = 0  # renew at every call the inspection makes
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "row"}\n' * 2500)
    dataset = Dataset.objects.create(owner=user, name="long", source="upload", status="validating",
                                     file_type="jsonl", file_name="rows.jsonl", storage_uri=path.as_uri())
    seen = []
    real = services._heartbeat

    def recording(dataset_id):
        beat = real(dataset_id)

        def wrapped():
            beat()
            seen.append(Dataset.objects.get(pk=dataset_id).status_changed_at)
        return wrapped

    monkeypatch.setattr(services, "_heartbeat", recording)
    Dataset.objects.filter(pk=dataset.pk).update(status_changed_at=timezone.now() - timedelta(hours=1))
    services.validate(dataset.pk)
    assert len(seen) == 3  # at the start, then after rows 1,000 and 2,000
    assert seen[0] > timezone.now() - timedelta(minutes=1) and seen == sorted(seen)
    assert Dataset.objects.get(pk=dataset.pk).status == "ready"


def test_validation_is_acknowledged_early_and_swept_every_minute():
    from celery import current_app

    import celeryconfig

    assert validate_dataset.acks_late is False and current_app.conf.task_acks_late is True
    assert celeryconfig.beat_schedule["catalog.redispatch-validations"]["schedule"] == timedelta(minutes=1)
