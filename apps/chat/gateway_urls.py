from django.urls import path  # noqa: F401

# The OpenAI-compatible gateway, mounted at /v1/.
urlpatterns: list = []
