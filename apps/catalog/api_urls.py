from rest_framework.routers import SimpleRouter

from .api import BaseModelViewSet, DatasetViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # /api/v1/datasets/1/preview and .../preview/ both work
router.register("models", BaseModelViewSet, basename="model")
router.register("datasets", DatasetViewSet, basename="dataset")

urlpatterns = router.urls
