from django.contrib import admin

from apps.core.admin import EventLogInline

from .models import Cluster, ClusterEvent


class ClusterEventInline(EventLogInline):
    model = ClusterEvent


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ("name", "region", "access", "eks_cluster_name", "namespace", "status", "last_checked_at")
    list_filter = ("status", "region", "access")
    search_fields = ("name", "eks_cluster_name")
    exclude = ("kubeconfig",)  # encrypted credentials: replaced through the API, never shown
    readonly_fields = ("status", "status_reason", "status_changed_at", "api_endpoint", "ca_data", "kubernetes_version",
                       "namespaces", "operator_installed", "hyperpod_status", "capacity", "last_checked_at")
    inlines = [ClusterEventInline]
