from django.contrib import admin

from apps.core.admin import EventLogInline

from .models import Endpoint, EndpointEvent


class EndpointEventInline(EventLogInline):
    model = EndpointEvent


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "status", "target", "engine", "instance_type", "instance_count", "created_at")
    list_filter = ("status", "target", "engine")
    search_fields = ("name", "remote_name", "owner__username", "model_uri")
    # Status moves only through transitions; the API key never shows here.
    readonly_fields = ("status", "status_reason", "status_changed_at", "remote_name", "remote_status", "remote_phase",
                       "invocation_url", "created_at", "updated_at")
    exclude = ("api_key",)
    inlines = [EndpointEventInline]
