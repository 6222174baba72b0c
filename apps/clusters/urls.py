from django.urls import path

from . import views

app_name = "clusters"

urlpatterns = [
    path("", views.cluster_list, name="list"),
    path("register/", views.cluster_register, name="register"),
    path("<int:pk>/", views.cluster_detail, name="detail"),
    path("<int:pk>/delete/", views.cluster_delete, name="delete"),
]
