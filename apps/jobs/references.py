"""Which parts of ModelHub's own storage a user may point a job or an endpoint at.

Storage references (a base model's S3 weights, a checkpoint to resume from, an endpoint's model, a LoRA
adapter) may name any location outside ModelHub's storage. Inside it, where every user's uploads and job
outputs live side by side, only the folders of datasets and the prefixes of jobs the user can use (their own,
and those shared with them) are allowed: `apps.core.storage_refs` has the matching rule.
"""

from collections.abc import Iterator

from apps.catalog import staging
from apps.catalog.models import Dataset
from apps.core.storage_refs import check_reference
from apps.users.ownership import visible_to

from .models import TrainingJob


def usable_prefixes(user) -> Iterator[str]:
    """The user's usable folders in ModelHub's storage. Lazy: queried only for a reference that lies inside it."""
    yield from visible_to(TrainingJob.objects.alive(), user).exclude(output_uri="").values_list("output_uri", flat=True)
    for dataset in visible_to(Dataset.objects.all(), user).only("pk", "name", "storage_uri", "staged"):
        yield from staging.managed_folders(dataset)


def reference_problem(uri: str, user) -> str | None:
    """Why `user` may not use the storage location `uri`, or None when they may."""
    return check_reference(uri, user, usable_prefixes(user))
