from rest_framework.routers import SimpleRouter

from .api import EndpointViewSet

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("endpoints", EndpointViewSet, basename="endpoint")

urlpatterns = router.urls
