from django.contrib import admin

from .models import BaseModel, Dataset, DatasetEvent


@admin.register(BaseModel)
class BaseModelAdmin(admin.ModelAdmin):
    list_display = ("display_name", "key", "repo_id", "template", "parameters_b", "context_length", "modality",
                    "family", "is_custom", "owner")
    list_filter = ("family", "modality", "is_custom", "license")
    search_fields = ("key", "display_name", "repo_id", "family")
    readonly_fields = ("created_at", "updated_at")
    raw_id_fields = ("owner",)


class DatasetEventInline(admin.TabularInline):
    model = DatasetEvent
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "level", "kind", "message")
    fields = readonly_fields


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "source", "format", "status", "row_count", "shared", "created_at")
    list_filter = ("status", "source", "format", "shared")
    list_editable = ("shared",)
    search_fields = ("name", "source_uri", "owner__username")
    raw_id_fields = ("owner", "base_model")
    readonly_fields = ("status", "status_reason", "status_changed_at", "format", "job_types", "layout", "row_count",
                       "stats", "report", "preview", "file_name", "file_type", "size_bytes", "storage_uri",
                       "staged", "created_at")
    inlines = [DatasetEventInline]
    actions = ["share", "unshare"]

    @admin.action(description="Share with all users")
    def share(self, request, queryset):
        queryset.update(shared=True)

    @admin.action(description="Stop sharing")
    def unshare(self, request, queryset):
        queryset.update(shared=False)
