from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "apps.users"
    label = "users"
    verbose_name = "Accounts"

    def ready(self):
        from . import signals

        signals.connect()
        from . import throttle  # noqa: F401 - connects the failed-login log and counter
