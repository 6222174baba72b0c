from celery import shared_task

from apps.backends.errors import TransientError

from . import services


# Acknowledged when taken, not when done: a validation may run longer than Redis's visibility timeout, which
# would hand it to a second worker while the first still reads. A validation whose worker dies is found by
# `redispatch_validations` instead, once its heartbeat (the dataset's status time) stops being renewed.
@shared_task(
    name="catalog.validate_dataset", bind=True, soft_time_limit=3600, time_limit=3700, acks_late=False,
    autoretry_for=(TransientError,), retry_backoff=True, retry_backoff_max=600, max_retries=6,
)
def validate_dataset(self, dataset_id: int) -> None:
    """Read every row of a dataset, record its statistics and report, and mark it ready or invalid."""
    services.validate(dataset_id)


@shared_task(name="catalog.redispatch_validations", soft_time_limit=40, time_limit=50)
def redispatch_validations() -> int:
    """Send validation again for datasets whose validation stopped renewing its heartbeat."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from .models import Dataset

    cutoff = timezone.now() - timedelta(seconds=settings.DATASET_VALIDATION_STALE_SECONDS)
    stale = list(Dataset.objects.filter(status=Dataset.Status.VALIDATING, status_changed_at__lt=cutoff)
                 .values_list("pk", flat=True)[:500])
    for pk in stale:
        validate_dataset.delay(pk)
    return len(stale)
