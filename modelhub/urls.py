from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core import system_api
from apps.core import views as core_views
from apps.users import api as users_api
from apps.users import api_tokens, api_users, language, share_api, share_views
from apps.users import forms as users_forms
from apps.users import views as users_views

api_v1 = [
    path("me", users_api.me, name="me"),
    path("", include(users_api.router.urls)),
    path("", include(share_api.router.urls)),
    path("", include(api_users.router.urls)),
    path("", include(api_tokens.router.urls)),
    path("system/pings", system_api.create_ping, name="ping-create"),
    path("system/pings/<uuid:pk>", system_api.get_ping, name="ping-detail"),
    path("", include("apps.catalog.api_urls")),
    path("", include("apps.jobs.api_urls")),
    path("", include("apps.endpoints.api_urls")),
    path("", include("apps.clusters.api_urls")),
    path("", include("apps.chat.api_urls")),
]

urlpatterns = [
    path("", core_views.dashboard, name="dashboard"),
    path("healthz", core_views.healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="users/login.html", redirect_authenticated_user=True,
                                     authentication_form=users_forms.LoginForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", users_views.profile, name="profile"),
    path("profile/tokens/<int:pk>/revoke", users_views.revoke_token, name="revoke-token"),
    path("profile/secrets/", users_views.add_secret, name="add-secret"),
    path("profile/secrets/<int:pk>/delete", users_views.delete_secret, name="delete-secret"),
    path("users/", include("apps.users.admin_urls")),
    path("language", language.set_language, name="set-language"),
    path("shares/", share_views.add_share, name="add-share"),
    path("shares/<int:pk>/remove", share_views.remove_share, name="remove-share"),
    path("catalog/", include("apps.catalog.urls")),
    path("jobs/", include("apps.jobs.urls")),
    path("endpoints/", include("apps.endpoints.urls")),
    path("clusters/", include("apps.clusters.urls")),
    path("playground/", include("apps.chat.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include((api_v1, "api"))),
]

admin.site.site_header = "ModelHub administration"
admin.site.site_title = "ModelHub admin"
