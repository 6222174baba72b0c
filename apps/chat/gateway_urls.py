from django.urls import path

from . import gateway

# The OpenAI-compatible gateway, mounted at /v1/.
urlpatterns = [
    path("chat/completions", gateway.chat_completions, name="gateway-chat-completions"),
    path("models", gateway.models, name="gateway-models"),
    path("models/<str:name>", gateway.model_detail, name="gateway-model"),
]
