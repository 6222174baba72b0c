from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_catalog(sender, using="default", **kwargs):
    from . import curation

    curation.sync()


class CatalogConfig(AppConfig):
    name = "apps.catalog"
    label = "catalog"
    verbose_name = "Catalog"

    def ready(self):
        post_migrate.connect(_sync_catalog, sender=self, dispatch_uid="catalog.sync")
        from . import signals  # noqa: F401  (removes stored and staged data when a dataset is deleted)
