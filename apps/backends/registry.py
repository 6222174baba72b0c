"""Backend implementations by name, from settings.TRAINING_BACKENDS / SERVING_BACKENDS / CLUSTER_BACKENDS.

Tests replace an entry with a fake (e.g. with pytest-django's `settings` fixture) and call
`reset()`.
"""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string


class UnknownBackend(LookupError):
    pass


@cache
def _instance(path: str):
    return import_string(path)()


def _get(table: dict[str, str], name: str, kind: str):
    try:
        path = table[name]
    except KeyError:
        raise UnknownBackend(f"No {kind} backend named {name!r}; known: {', '.join(sorted(table))}.") from None
    return _instance(path)


def training_backend(name: str):
    return _get(settings.TRAINING_BACKENDS, name, "training")


def serving_backend(name: str):
    return _get(settings.SERVING_BACKENDS, name, "serving")


def cluster_backend(name: str):
    return _get(settings.CLUSTER_BACKENDS, name, "cluster")


def reset() -> None:
    _instance.cache_clear()
