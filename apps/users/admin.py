from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import ApiToken, GroupPolicy, User, UserSecret
from .shares import Share


@admin.register(User)
class ModelHubUserAdmin(UserAdmin):
    list_display = ("username", "email", "group_names", "is_active", "last_login")

    @admin.display(description="Groups")
    def group_names(self, obj):
        return ", ".join(g.name for g in obj.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "hint", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "owner__username", "hint")
    readonly_fields = ("owner", "hint", "created_at", "last_used_at")
    exclude = ("digest",)
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # tokens are issued on the profile page or by `create_token`, where the value is shown once

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            token.revoke()


@admin.register(UserSecret)
class UserSecretAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "owner", "hint", "created_at")
    search_fields = ("name", "owner__username")
    fields = ("owner", "name", "kind", "hint", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # owners add secrets on their profile page; the value never passes through the admin


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    list_display = ("content_type", "object_id", "audience", "created_by", "created_at")
    list_filter = ("content_type", "group")
    search_fields = ("group__name", "created_by__username")
    list_select_related = ("content_type", "group", "created_by")


@admin.register(GroupPolicy)
class GroupPolicyAdmin(admin.ModelAdmin):
    list_display = ("group", "execution_role_arn", "allow_trust_remote_code", "allow_custom_reward_code")
    list_filter = ("allow_trust_remote_code", "allow_custom_reward_code")
    search_fields = ("group__name", "execution_role_arn")
    list_select_related = ("group",)
