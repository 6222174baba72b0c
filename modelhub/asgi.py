"""The web process: Django for pages and /api, the OpenAI-compatible gateway at /v1 beside it."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelhub.settings")

django_application = get_asgi_application()  # sets Django up: import the apps after it

from apps.backends.http_upstream import close_sessions  # noqa: E402
from apps.chat import gateway  # noqa: E402
from apps.core.asgi import PrefixRouter  # noqa: E402

application = PrefixRouter({"/v1/": gateway.application}, default=django_application, on_shutdown=(close_sessions,))
