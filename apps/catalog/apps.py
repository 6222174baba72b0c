from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _sync_catalog(sender, using="default", **kwargs):
    """After `migrate`: load curated models and built-in datasets (new ones only), once the tables exist."""
    from . import curation
    from .models import BaseModel, Dataset

    tables = set(connections[using].introspection.table_names())
    if {BaseModel._meta.db_table, Dataset._meta.db_table} <= tables:
        curation.sync()


class CatalogConfig(AppConfig):
    name = "apps.catalog"
    label = "catalog"
    verbose_name = "Catalog"

    def ready(self):
        post_migrate.connect(_sync_catalog, sender=self, dispatch_uid="catalog.sync")
        from . import signals  # noqa: F401  (removes stored and staged data when a dataset is deleted)
