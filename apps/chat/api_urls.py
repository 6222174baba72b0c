from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(trailing_slash=False)
router.register("chat/conversations", api.ConversationViewSet, basename="conversation")

urlpatterns = [
    path("chat/conversations/<int:pk>/reply", api.reply, name="conversation-reply"),
    *router.urls,
]
