from django.contrib import admin


class EventLogInline(admin.TabularInline):
    """An object's append-only event log, read-only in the admin. Subclasses set `model`."""

    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "level", "kind", "message", "data")

    def has_add_permission(self, request, obj=None):
        return False  # the log is written by the code, never by hand
