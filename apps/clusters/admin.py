from django.contrib import admin

from apps.core.admin import EventLogInline

from .models import Cluster, ClusterEvent


class ClusterEventInline(EventLogInline):
    model = ClusterEvent


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ("name", "region", "eks_cluster_name", "namespace", "status", "last_checked_at")
    list_filter = ("status", "region")
    search_fields = ("name", "eks_cluster_name")
    readonly_fields = ("status", "status_reason", "status_changed_at", "capacity", "last_checked_at")
    inlines = [ClusterEventInline]
