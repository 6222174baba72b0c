"""Targets whose endpoints run on a registered Kubernetes cluster (settings.CLUSTER_TARGETS).

Such a target takes `target_options` (the cluster, its namespace and the features it offers),
validated by the serializer the settings name for it, and its endpoints get Kubernetes names.
"""

from django.conf import settings
from django.utils.module_loading import import_string


def targets() -> tuple[str, ...]:
    return tuple(settings.CLUSTER_TARGETS)


def on_cluster(target: str) -> bool:
    return target in settings.CLUSTER_TARGETS


def serializer(target: str):
    """The DRF serializer class that checks the target's options (context: `spec`, `model_uri`); it also
    declares how the deploy form shows them (`form_fields()`, `FORM_HELP`, `FORM_SWITCHES`)."""
    return import_string(settings.CLUSTER_TARGETS[target])
