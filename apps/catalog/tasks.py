from celery import shared_task

from apps.backends.errors import TransientError

from . import services


@shared_task(
    name="catalog.validate_dataset", queue="io", bind=True, soft_time_limit=3600, time_limit=3700,
    autoretry_for=(TransientError,), retry_backoff=True, retry_backoff_max=600, max_retries=6,
)
def validate_dataset(self, dataset_id: int) -> None:
    """Read every row of a dataset, record its statistics and report, and mark it ready or invalid."""
    services.validate(dataset_id)
