from django.urls import path

from . import compare, outputs, spot, views

app_name = "jobs"

urlpatterns = [
    path("", views.job_list, name="list"),
    path("new", views.job_new, name="new"),
    path("new/estimate", views.estimate, name="estimate"),
    path("new/preview", views.job_preview, name="preview"),
    path("new/advanced", views.form_advanced, name="form_advanced"),
    path("compare", compare.compare, name="compare"),
    path("spot-prices", spot.spot_prices, name="spot_prices"),
    path("<int:pk>/", views.job_detail, name="detail"),
    path("<int:pk>/live", views.job_live, name="live"),
    path("<int:pk>/logs", views.job_logs, name="logs"),
    path("<int:pk>/logs/download", outputs.job_log_download, name="log_download"),
    path("<int:pk>/outputs", outputs.job_outputs, name="outputs"),
    path("<int:pk>/outputs/download", outputs.job_output_download, name="output_download"),
    path("<int:pk>/stop", views.job_stop, name="stop"),
    path("<int:pk>/delete", views.job_delete, name="delete"),
]
