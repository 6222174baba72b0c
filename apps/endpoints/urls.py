from django.urls import path

from . import views

app_name = "endpoints"

urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("new", views.endpoint_new, name="new"),
    path("new/fit", views.fit_preview, name="fit"),
    path("<int:pk>/", views.endpoint_detail, name="detail"),
    path("<int:pk>/live", views.endpoint_live, name="live"),
    path("<int:pk>/logs", views.endpoint_logs, name="logs"),
    path("<int:pk>/scale", views.endpoint_scale, name="scale"),
    path("<int:pk>/delete", views.endpoint_delete, name="delete"),
]
