from django.db.models.signals import pre_delete
from django.dispatch import receiver

from .models import Dataset


@receiver(pre_delete, sender=Dataset, dispatch_uid="catalog.dataset-remove-files")
def remove_dataset_files(sender, instance: Dataset, **kwargs):
    """Remove what ModelHub stored and staged for the dataset before its row goes (a failure keeps the row)."""
    from .staging import remove

    remove(instance)
