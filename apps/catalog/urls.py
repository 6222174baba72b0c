from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.model_list, name="models"),
    path("models/add/", views.model_add, name="model-add"),
    path("models/<slug:key>/", views.model_detail, name="model-detail"),
    path("models/<slug:key>/delete", views.model_delete, name="model-delete"),
    path("datasets/", views.dataset_list, name="datasets"),
    path("datasets/upload/", views.dataset_upload, name="dataset-upload"),
    path("datasets/register/", views.dataset_register, name="dataset-register"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset-detail"),
    path("datasets/<int:pk>/thumbnails/<str:name>", views.dataset_thumbnail, name="dataset-thumbnail"),
    path("datasets/<int:pk>/delete/", views.dataset_delete, name="dataset-delete"),
    path("datasets/<int:pk>/share", views.dataset_share, name="dataset-share"),
]
