from rest_framework.routers import SimpleRouter

from .api import TrainingJobViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # /api/v1/jobs/1/stop and /api/v1/jobs/1/stop/ both work
router.register("jobs", TrainingJobViewSet, basename="job")

urlpatterns = router.urls
