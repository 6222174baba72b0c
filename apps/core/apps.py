from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from . import worker  # noqa: F401  (connects the worker heartbeat to Celery's signals)
