# The catalog's fixtures: a fresh local store per test, and validation run in-process as it is sent.
from tests.catalog.conftest import s3, storage_dir, validation_on_a_worker  # noqa: F401
