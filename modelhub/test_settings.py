"""Settings for the test suite: the real settings, with static files served from the source folders
so that no `collectstatic` is needed. Processes started by tests inherit DJANGO_SETTINGS_MODULE."""

from .settings import *  # noqa: F403
from .settings import STORAGES

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
