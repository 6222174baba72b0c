from django.contrib import admin

from apps.core.admin import EventLogInline

from .models import JobEvent, TrainingJob


class JobEventInline(EventLogInline):
    model = JobEvent


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    """Read-mostly: status moves only through transitions, and deleted jobs stay visible here with their history."""

    list_display = ("name", "owner", "job_type", "status", "target", "created_at", "deleted_at")
    list_filter = ("status", "job_type", "target", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "remote_name", "owner__username")
    list_select_related = ("owner",)
    readonly_fields = [f.name for f in TrainingJob._meta.fields if f.name not in ("name",)]
    inlines = [JobEventInline]

    def has_add_permission(self, request):
        return False  # jobs are created through the form or the API, where the spec is validated
