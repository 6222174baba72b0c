from rest_framework.routers import SimpleRouter

from .api import ClusterViewSet

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("clusters", ClusterViewSet, basename="cluster")

urlpatterns = router.urls
