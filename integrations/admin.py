"""Admin for operators: filter errored integrations, read why, act; never see a token."""

from django.contrib import admin, messages
from django.utils.html import format_html

from . import consumers, tokens
from .models import Integration, IntegrationEvent, OAuthCredential
from .providers import registry


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("yes", "Needs attention")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.needs_attention()
        return queryset


def credential_summary(cred: OAuthCredential | None) -> str:
    """A masked, one-line description of a credential: whether tokens are set, never their value."""
    if cred is None:
        return "no credential"
    if cred.is_undecryptable:
        return "undecryptable (key missing)"
    access = "set" if cred.access_token else "not set"
    refresh = "set" if cred.refresh_token else "not set"
    return f"access token {access}, refresh token {refresh}"


class CredentialInline(admin.StackedInline):
    model = OAuthCredential
    can_delete = False
    extra = 0
    max_num = 0
    # Only masked and plain fields: the encrypted token fields are never rendered.
    fields = readonly_fields = (
        "tokens",
        "token_type",
        "expires_at",
        "scopes",
        "last_refreshed_at",
        "refresh_failures",
        "failing_since",
        "retry_after",
        "last_error_kind",
        "last_error_code",
        "last_error_message",
        "last_error_at",
    )

    @admin.display(description="tokens")
    def tokens(self, obj):
        return credential_summary(obj)

    def has_add_permission(self, request, obj=None):
        return False


class EventInline(admin.TabularInline):
    model = IntegrationEvent
    extra = 0
    can_delete = False
    max_num = 0
    fields = readonly_fields = (
        "created_at", "kind", "outcome", "error_code", "message", "duration_ms", "attempts",
        "rotated",
    )
    ordering = ("-created_at", "-id")

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at", "-id")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = (
        "id", "user", "provider", "account", "status_badge", "last_sync_status", "token_expiry",
        "last_error",
    )
    list_filter = (NeedsAttentionFilter, "status", "provider", "last_sync_status")
    search_fields = ("user__email", "user__username", "display_name", "external_id")
    list_select_related = ("user", "credential")
    readonly_fields = (
        "user", "provider", "external_id", "display_name", "status", "last_sync_status",
        "last_sync_message", "last_synced_at", "created_at", "updated_at",
    )
    inlines = [CredentialInline, EventInline]
    actions = ["refresh_now", "sync_now"]

    @admin.display(description="account", ordering="display_name")
    def account(self, obj):
        return obj.display_name or obj.external_id

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return format_html('<span class="badge-{}">{}</span>', obj.status, obj.get_status_display())

    @admin.display(description="token expiry", ordering="credential__expires_at")
    def token_expiry(self, obj):
        cred = getattr(obj, "credential", None)
        return cred.expires_at if cred else None

    @admin.display(description="last error")
    def last_error(self, obj):
        cred = getattr(obj, "credential", None)
        if cred is None or not cred.last_error_code:
            return obj.last_sync_message if obj.last_sync_status == "error" else ""
        return f"{cred.last_error_code}: {cred.last_error_message}"[:120]

    def has_add_permission(self, request):
        return False  # integrations are created by the connect flow only

    @admin.action(description="Refresh tokens now")
    def refresh_now(self, request, queryset):
        ok = failed = 0
        for integration in queryset.filter(status=Integration.Status.ACTIVE):
            try:
                tokens.ensure_fresh(integration, force=True)
                ok += 1
            except tokens.TokenError as exc:
                failed += 1
                self.message_user(
                    request, f"Integration {integration.pk}: {exc}", level=messages.WARNING
                )
        self.message_user(request, f"Refreshed {ok}, failed {failed}.")

    @admin.action(description="Sync now (where a consumer app syncs the provider's data)")
    def sync_now(self, request, queryset):
        started = 0
        for integration in queryset.filter(status=Integration.Status.ACTIVE):
            consumer = consumers.for_provider(registry.find(integration.provider))
            if consumer and consumer.enqueue_sync:
                consumer.enqueue_sync(integration.pk)
                started += 1
        self.message_user(request, f"Sync started for {started} integration(s); "
                                   "the result shows in the last sync columns and the history.")


@admin.register(IntegrationEvent)
class IntegrationEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "integration", "kind", "outcome", "error_code", "duration_ms")
    list_filter = ("kind", "outcome")
    search_fields = ("integration__display_name", "integration__external_id", "error_code")
    list_select_related = ("integration",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
