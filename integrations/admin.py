"""Admin for operators: filter errored integrations, read why, act; never see a token."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy as _, ngettext

from . import consumers, notices, tokens
from .adapter import get_adapter
from .models import Integration, IntegrationEvent, Notice, OAuthCredential, ProviderBreaker
from .providers import registry


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("yes", _("Needs attention"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.needs_attention()
        return queryset


def credential_summary(cred: OAuthCredential | None) -> str:
    """A masked, one-line description of a credential: whether tokens are set, never their value."""
    if cred is None:
        return gettext("no credential")
    if cred.is_undecryptable:
        return gettext("undecryptable (key missing)")
    return {
        (True, True): gettext("access token set, refresh token set"),
        (True, False): gettext("access token set, refresh token not set"),
        (False, True): gettext("access token not set, refresh token set"),
        (False, False): gettext("access token not set, refresh token not set"),
    }[bool(cred.access_token), bool(cred.refresh_token)]


class CredentialInline(admin.StackedInline):
    model = OAuthCredential
    verbose_name = verbose_name_plural = _("OAuth credential")
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

    @admin.display(description=_("tokens"))
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
    # Compact enough to show every column, last error included, beside admin's navigation at
    # 1280 px: long values wrap, the status column carries the sync status too.
    list_display = ("id", "owner_name", "provider_id", "account", "status_badge",
                    "token_expiry", "last_error")
    list_filter = (NeedsAttentionFilter, "status", "provider", "last_sync_status")
    list_select_related = ("owner", "connected_by", "credential")
    readonly_fields = (
        "owner", "connected_by", "provider", "external_id", "display_name", "status", "last_sync_status",
        "last_sync_message", "last_synced_at", "created_at", "updated_at",
    )
    inlines = [CredentialInline, EventInline]
    actions = ["refresh_now", "sync_now"]

    def get_search_fields(self, request):
        # The owner's and the connecting user's own fields (any user model: no `username` or
        # `email` assumed; a team's name).
        adapter = get_adapter()
        return (*adapter.owner_search_fields(), *adapter.user_search_fields(), "display_name",
                "external_id")

    @admin.display(description=_("owner"), ordering="owner")
    def owner_name(self, obj):
        connected = get_adapter().user_display(obj.connected_by)
        owner = get_adapter().owner_display(obj.owner)
        if not connected or connected == owner:
            return owner
        return format_html('{}<br><span class="quiet">{}</span>', owner,
                           gettext("connected by {user}").format(user=connected))

    @admin.display(description=_("account"), ordering="display_name")
    def account(self, obj):
        return format_html('<span style="display:inline-block; max-width:16em; '
                           'overflow-wrap:anywhere">{}</span>', obj.display_name or obj.external_id)

    @admin.display(description=_("provider"), ordering="provider")
    def provider_id(self, obj):
        # google_business_profile may break after an underscore instead of widening the table.
        return mark_safe("_<wbr>".join(escape(part) for part in obj.provider.split("_")))

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return format_html('<span class="badge-{}">{}</span><br><span class="quiet">{}</span>',
                           obj.status, obj.get_status_display(),
                           gettext("sync: {status}").format(status=obj.last_sync_status))

    @admin.display(description=_("token expiry"), ordering="credential__expires_at")
    def token_expiry(self, obj):
        cred = getattr(obj, "credential", None)
        if cred is None or cred.expires_at is None:
            return "-"
        return date_format(timezone.localtime(cred.expires_at), "M j, H:i")

    @admin.display(description=_("last error"))
    def last_error(self, obj):
        """Short and wrapping (a provider's message may hold a long URL); the whole text is in
        the tooltip and on the change page."""
        cred = getattr(obj, "credential", None)
        if cred is not None and cred.last_error_code:
            text = _code_and_message(cred.last_error_code, cred.last_error_message)
        elif obj.last_sync_status == Integration.SyncStatus.ERROR:
            text = gettext("sync: {message}").format(message=obj.last_sync_message)
        else:
            return ""
        short = text if len(text) <= 80 else text[:79] + "…"
        return format_html('<span title="{}" style="display:inline-block; min-width:10em; '
                           'max-width:16em; white-space:normal; overflow-wrap:anywhere">{}</span>',
                           text, short)

    def has_add_permission(self, request):
        return False  # integrations are created by the connect flow only

    def has_change_permission(self, request, obj=None):
        return False  # every field is read-only: the page is for reading; actions act

    def delete_queryset(self, request, queryset):
        """Every delete in admin (the list's "delete selected", the delete page) revokes at the
        provider first, as a disconnect does: a deleted row must not leave a live grant behind."""
        _disconnect(queryset)
        queryset.delete()

    def delete_model(self, request, obj):
        _disconnect(Integration.objects.filter(pk=obj.pk))
        obj.delete()

    def delete_view(self, request, object_id, extra_context=None):
        # Admin runs this view in a transaction: revoke before it opens, so the provider call
        # holds no lock (on SQLite, a sandbox on the same database could not record the revoke).
        if request.method == "POST":
            integration = self.get_object(request, unquote(object_id))
            if integration is not None and self.has_delete_permission(request, integration):
                _disconnect(Integration.objects.filter(pk=integration.pk))
        return super().delete_view(request, object_id, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Removing an integration is the owner's (after a disconnect revokes it); operators
        # read here and act through the list's actions.
        extra_context = {**(extra_context or {}), "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Refresh tokens now"))
    def refresh_now(self, request, queryset):
        ok = failed = 0
        for integration in queryset.filter(status=Integration.Status.ACTIVE):
            try:
                tokens.ensure_fresh(integration, force=True)
                ok += 1
            except tokens.TokenError as exc:
                failed += 1
                self.message_user(
                    request, gettext("Integration {id}: {error}").format(
                        id=integration.pk, error=_code_and_message(exc.code, exc.message)),
                    level=messages.WARNING)
        self.message_user(request, gettext("Refreshed {ok}, failed {failed}.").format(
            ok=ok, failed=failed))

    @admin.action(description=_("Sync now (where a consumer app syncs the provider's data)"))
    def sync_now(self, request, queryset):
        started = 0
        for integration in queryset.filter(status=Integration.Status.ACTIVE):
            consumer = consumers.for_provider(registry.find(integration.provider))
            if consumer and consumer.enqueue_sync:
                consumer.enqueue_sync(integration.pk)
                started += 1
        self.message_user(request, ngettext(
            "Sync started for {count} integration; the result shows in the last sync columns "
            "and the history.",
            "Sync started for {count} integrations; the result shows in the last sync columns "
            "and the history.", started).format(count=started))


def _disconnect(queryset):
    """Revoke and wipe (tokens.disconnect) each integration of `queryset` not disconnected yet."""
    for integration in queryset.exclude(status=Integration.Status.DISCONNECTED):
        tokens.disconnect(integration)


def _code_and_message(code: str, message: str) -> str:
    """"invalid_grant: Token has been expired or revoked.", or the code alone when the message
    only repeats it."""
    return code if not message or message.strip() == code else f"{code}: {message}"


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


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    """Notices to owners: what was delivered, what is still being tried, what was given up."""

    list_display = ("created_at", "integration", "kind", "status", "attempts", "next_attempt_at",
                    "sent_at", "last_error")
    list_filter = ("status", "kind")
    search_fields = ("integration__display_name", "integration__external_id")
    list_select_related = ("integration",)
    actions = ["deliver_now"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Try to deliver now"))
    def deliver_now(self, request, queryset):
        pending = list(queryset.exclude(status=Notice.Status.SENT).values_list("pk", flat=True))
        Notice.objects.filter(pk__in=pending).update(
            status=Notice.Status.PENDING, next_attempt_at=timezone.now())
        delivered = sum(notices.deliver(pk) for pk in pending)
        self.message_user(request, gettext("Delivered {delivered} of {total}.").format(
            delivered=delivered, total=len(pending)))


@admin.register(ProviderBreaker)
class ProviderBreakerAdmin(admin.ModelAdmin):
    """Providers failing for many accounts at once: not asked until their next probe."""

    list_display = ("provider", "state", "failures", "last_error_code", "opened_at", "retry_at",
                    "recovered_at")
    list_filter = ("state",)
    readonly_fields = [f.name for f in ProviderBreaker._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
