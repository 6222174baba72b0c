from django.contrib import admin

from .models import Cluster, ClusterEvent


class ClusterEventInline(admin.TabularInline):
    model = ClusterEvent
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "level", "kind", "message", "data")


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ("name", "region", "eks_cluster_name", "namespace", "status", "last_checked_at")
    list_filter = ("status", "region")
    search_fields = ("name", "eks_cluster_name")
    readonly_fields = ("status", "status_reason", "status_changed_at", "capacity", "last_checked_at")
    inlines = [ClusterEventInline]
