from celery import shared_task

from apps.backends.errors import TransientError

from . import services


@shared_task(
    name="catalog.validate_dataset", bind=True, soft_time_limit=3600, time_limit=3700,
    autoretry_for=(TransientError,), retry_backoff=True, retry_backoff_max=600, max_retries=6,
)
def validate_dataset(self, dataset_id: int) -> None:
    """Read every row of a dataset, record its statistics and report, and mark it ready or invalid."""
    services.validate(dataset_id)


@shared_task(name="catalog.redispatch_validations", soft_time_limit=60, time_limit=90)
def redispatch_validations() -> int:
    """Send validation again for datasets left validating longer than a validation can run."""
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
