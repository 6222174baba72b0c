from django.urls import path

from . import admin_pages

app_name = "users-admin"

urlpatterns = [
    path("", admin_pages.account_list, name="list"),
    path("<int:pk>/", admin_pages.account_detail, name="detail"),
    path("<int:pk>/groups", admin_pages.account_groups, name="groups"),
    path("<int:pk>/active", admin_pages.account_active, name="active"),
    path("<int:pk>/password", admin_pages.account_reset_password, name="reset-password"),
    path("<int:pk>/tokens/<int:token_pk>/revoke", admin_pages.account_revoke_token, name="revoke-token"),
]
