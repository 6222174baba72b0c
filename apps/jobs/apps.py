from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "apps.jobs"
    label = "jobs"
    verbose_name = "Training jobs"

    def ready(self):
        # Register the tasks in every process, so `dispatch` can send them by name (eagerly in tests).
        from . import tasks  # noqa: F401
