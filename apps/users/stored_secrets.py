"""Reading a user's stored secrets at the moment they are handed to the compute (a job's submit, an
endpoint's deploy): the one place their values leave the database, for training and serving alike."""

from collections.abc import Mapping

from .models import UserSecret


class MissingSecret(ValueError):
    """A secret the spec names no longer exists (deleted after the job or endpoint was created)."""


def read(owner_id: int, refs: Mapping[str, str], *, remedy: str) -> dict[str, str]:
    """{variable: value} for `refs` ({variable: name of the owner's stored secret}).

    Raises MissingSecret naming every missing secret and what to do (`remedy`); the values are never logged."""
    if not refs:
        return {}
    names = set(refs.values())
    values = dict(UserSecret.objects.filter(owner_id=owner_id, name__in=names).values_list("name", "value"))
    missing = sorted(names - values.keys())
    if missing:
        raise MissingSecret(f"The stored secret(s) {', '.join(map(repr, missing))} no longer exist; "
                            f"store them again on your profile page and {remedy}.")
    return {variable: values[name] for variable, name in refs.items()}
