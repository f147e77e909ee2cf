"""The data of the core: integrations, their credentials, their history, proactive runs.

The queries several places run ("needs attention", "due", "cooling down") are queryset methods
here, used alike by admin, health, commands and tasks.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .conf import owner_model_name
from .errors import ErrorKind
from .fields import EncryptedTextField, is_undecryptable


class IntegrationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=Integration.Status.ACTIVE)

    def needs_attention(self):
        """Re-auth required, a sync error, failing refreshes, or an operator-side error."""
        return self.filter(
            Q(status=Integration.Status.REAUTH_REQUIRED)
            | Q(status=Integration.Status.ACTIVE) & (
                Q(last_sync_status=Integration.SyncStatus.ERROR)
                | Q(credential__refresh_failures__gt=0)
                | Q(credential__last_error_kind=ErrorKind.OPERATOR)
            )
        )

    def needs_attention_count(self) -> int:
        """How many need attention, as a union of small indexed sets (a count over the OR
        above would read every row of a million)."""
        active = self.filter(status=Integration.Status.ACTIVE)
        parts = [
            self.filter(status=Integration.Status.REAUTH_REQUIRED),
            active.filter(last_sync_status=Integration.SyncStatus.ERROR),
            active.filter(credential__refresh_failures__gt=0),
            active.filter(credential__last_error_kind=ErrorKind.OPERATOR),
        ]
        first, *rest = [part.values("pk") for part in parts]
        return first.union(*rest).count()


class Integration(models.Model):
    """One connected third-party account of one owner (a user or a team): one row per owner,
    provider and account."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Connected")
        REAUTH_REQUIRED = "reauth_required", _("Needs reconnect")
        DISCONNECTED = "disconnected", _("Disconnected")

    class SyncStatus(models.TextChoices):
        NEVER = "never", _("Never synced")
        OK = "ok", _("OK")
        ERROR = "error", _("Error")

    # Who the integration belongs to: the user, or a host's team (INTEGRATIONS_OWNER_MODEL).
    owner = models.ForeignKey(owner_model_name(), on_delete=models.CASCADE,
                              related_name="integrations", verbose_name=_("owner"))
    # Who connected it (history): the integration stays with its owner when they are deleted.
    connected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL,
                                     related_name="connected_integrations",
                                     verbose_name=_("connected by"))
    provider = models.CharField(max_length=64, verbose_name=_("provider"))
    external_id = models.CharField(max_length=255, verbose_name=_("external id"))
    display_name = models.CharField(max_length=255, blank=True, verbose_name=_("display name"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE,
                              verbose_name=_("status"))
    last_sync_status = models.CharField(
        max_length=10, choices=SyncStatus.choices, default=SyncStatus.NEVER,
        verbose_name=_("last sync status"))
    last_sync_message = models.TextField(blank=True, verbose_name=_("last sync message"))
    last_synced_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last synced at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = IntegrationQuerySet.as_manager()

    class Meta:
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "provider", "external_id"], name="integration_unique_account"
            )
        ]
        indexes = [
            # Used by the admin's status filter and the health endpoint's counts.
            models.Index(fields=["status", "provider"], name="integration_status_idx"),
            # Used by the "needs attention" count (health, metrics): the few sync errors.
            models.Index(fields=["id"], condition=Q(last_sync_status="error"),
                         name="integration_sync_error_idx"),
        ]

    def __str__(self):
        return f"{self.provider}: {self.display_name or self.external_id}"


class CredentialQuerySet(models.QuerySet):
    def of_active(self, providers=(), ids=()):
        rows = self.filter(integration__status=Integration.Status.ACTIVE)
        if providers:
            rows = rows.filter(integration__provider__in=providers)
        if ids:
            rows = rows.filter(integration_id__in=ids)
        return rows

    def expiring(self, within: timedelta, now=None):
        """Tokens expiring within `within` (or already expired); indexed on expires_at."""
        return self.filter(expires_at__lte=(now or timezone.now()) + within)

    def cooling_down(self, now=None):
        """Credentials waiting out a cooldown after a failed refresh."""
        return self.filter(retry_after__gt=now or timezone.now())

    def not_cooling_down(self, now=None):
        return self.filter(Q(retry_after__isnull=True) | Q(retry_after__lte=now or timezone.now()))

    def due(self, within: timedelta, now=None, providers=(), ids=()):
        """What a proactive run refreshes: active, expiring within `within`, not cooling down."""
        now = now or timezone.now()
        return self.of_active(providers, ids).expiring(within, now).not_cooling_down(now)


class OAuthCredential(models.Model):
    """The tokens of one integration. Only the token service writes them after connect."""

    integration = models.OneToOneField(
        Integration, on_delete=models.CASCADE, related_name="credential",
        verbose_name=_("integration"))
    access_token = EncryptedTextField(null=True, blank=True)
    refresh_token = EncryptedTextField(null=True, blank=True)
    token_type = models.CharField(max_length=32, default="Bearer", verbose_name=_("token type"))
    # Plain and indexed: used by refresh_tokens to select what expires soon.
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                      verbose_name=_("expires at"))
    scopes = models.JSONField(default=list, blank=True, verbose_name=_("scopes"))
    last_refreshed_at = models.DateTimeField(null=True, blank=True,
                                             verbose_name=_("last refreshed at"))
    refresh_failures = models.PositiveIntegerField(default=0, verbose_name=_("refresh failures"))
    failing_since = models.DateTimeField(null=True, blank=True, verbose_name=_("failing since"))
    # Who can fix the last failure (reauth / operator / transient), stored as it was classified.
    last_error_kind = models.CharField(max_length=10, choices=ErrorKind.choices, blank=True,
                                       verbose_name=_("last error kind"))
    last_error_code = models.CharField(max_length=64, blank=True,
                                       verbose_name=_("last error code"))
    last_error_message = models.TextField(blank=True, verbose_name=_("last error message"))
    last_error_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last error at"))
    # No refresh attempt before this time after a failure (so a broken credential is not hammered).
    retry_after = models.DateTimeField(null=True, blank=True, verbose_name=_("retry after"))
    # The single-flight refresh lease: who holds it and until when (a dead holder's lease lapses).
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Who held the lease before the current holder took it, when that holder never let go (killed
    # mid-refresh, or stalled past its lease); "" when the lease was free. Set by the statement
    # that takes the lease, so an invalid_grant right after is known to follow our own interrupted
    # refresh, not the user's revocation.
    lease_previous = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CredentialQuerySet.as_manager()

    class Meta:
        verbose_name = _("OAuth credential")
        verbose_name_plural = _("OAuth credentials")
        # Small partial indexes over the few failing rows: the cooldown counts (refresh_tokens,
        # token_health, health, metrics) and the "needs attention" count (admin, health).
        indexes = [
            models.Index(fields=["retry_after"], condition=Q(retry_after__isnull=False),
                         name="credential_cooldown_idx"),
            models.Index(fields=["integration"], condition=Q(refresh_failures__gt=0),
                         name="credential_failing_idx"),
            models.Index(fields=["integration"], condition=Q(last_error_kind=ErrorKind.OPERATOR),
                         name="credential_operator_idx"),
        ]

    def __str__(self):
        return f"credential of integration {self.integration_id}"

    @property
    def is_undecryptable(self) -> bool:
        return is_undecryptable(self.access_token) or is_undecryptable(self.refresh_token)

    def expires_within(self, delta: timedelta) -> bool:
        if self.expires_at is None:
            return True
        return self.expires_at <= timezone.now() + delta

    def in_cooldown(self) -> bool:
        return self.retry_after is not None and self.retry_after > timezone.now()


class EventManager(models.Manager):
    def record(self, integration_id, kind, outcome="ok", **fields):
        return self.create(integration_id=integration_id, kind=kind, outcome=outcome, **fields)


class IntegrationEvent(models.Model):
    """History: one row per refresh attempt, sync or state change. Admin shows it."""

    class Kind(models.TextChoices):
        CONNECTED = "connected", _("Connected")
        RECONNECTED = "reconnected", _("Reconnected")
        DISCONNECTED = "disconnected", _("Disconnected")
        REFRESH = "refresh", _("Token refresh")
        STATUS = "status", _("Status change")
        SYNC = "sync", _("Sync")
        # A mailbox login (integrations.mail): recorded when its outcome changes.
        MAIL = "mail", _("Mailbox login")

    class Outcome(models.TextChoices):
        # A failed refresh's outcome is its ErrorKind (same values).
        OK = "ok", _("OK")
        REAUTH = "reauth", _("Re-auth required")
        OPERATOR = "operator", _("Operator action needed")
        TRANSIENT = "transient", _("Transient failure")
        ERROR = "error", _("Error")

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="events",
                                    verbose_name=_("integration"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    kind = models.CharField(max_length=20, choices=Kind.choices, verbose_name=_("kind"))
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.OK,
                               verbose_name=_("outcome"))
    error_code = models.CharField(max_length=64, blank=True, verbose_name=_("error code"))
    message = models.TextField(blank=True, verbose_name=_("message"))
    duration_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("duration ms"))
    attempts = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("attempts"))
    rotated = models.BooleanField(null=True, blank=True, verbose_name=_("rotated"))

    objects = EventManager()

    class Meta:
        verbose_name = _("integration event")
        verbose_name_plural = _("integration events")
        ordering = ["-created_at", "-id"]
        # Used by the admin history inline and by the health endpoint (failures in 24 h).
        indexes = [
            models.Index(fields=["integration", "-created_at"], name="event_integration_idx"),
            models.Index(fields=["kind", "outcome", "created_at"], name="event_kind_outcome_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.outcome} at {self.created_at:%Y-%m-%d %H:%M}"


class RefreshRun(models.Model):
    """One proactive refresh run (refresh_tokens or its beat task); the health endpoint shows
    the last one."""

    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    mode = models.CharField(max_length=10, default="inline")  # inline | enqueue
    due = models.PositiveIntegerField(default=0)
    refreshed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    reauth = models.PositiveIntegerField(default=0)
    operator = models.PositiveIntegerField(default=0)
    transient = models.PositiveIntegerField(default=0)
    enqueued = models.PositiveIntegerField(default=0)
    # A fan-out: batches handed to the broker, and batches a worker finished (each adds one).
    batches_sent = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    # Why the run stopped before its end (the database or the broker gone); "" if it did not.
    stopped = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at"]

    @property
    def failed(self):
        return self.reauth + self.operator + self.transient

    @property
    def unfinished_batches(self) -> int:
        return max(0, self.batches_sent - self.batches_done)

    @property
    def outcome(self):
        if self.stopped:
            return "stopped"
        if self.finished_at is None:
            return "running"
        if self.unfinished_batches:
            return "batches_pending"
        return "failures" if self.failed else "ok"

    def __str__(self):
        return f"refresh run {self.started_at:%Y-%m-%d %H:%M} ({self.outcome})"


class NoticeQuerySet(models.QuerySet):
    def due(self, now=None):
        """Pending notices whose next attempt is due and that no delivery holds."""
        now = now or timezone.now()
        return self.filter(status=Notice.Status.PENDING, next_attempt_at__lte=now).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


class Notice(models.Model):
    """A message to the people who must act on an integration (it needs reconnecting), kept
    until it is delivered: written in the transaction that changes the integration's state,
    delivered after the commit through the adapter, and tried again with backoff when the
    delivery fails (a mail outage), so it is never lost and delivered once."""

    class Kind(models.TextChoices):
        REAUTH_REQUIRED = "reauth_required", _("Needs reconnect")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Gave up")

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE,
                                    related_name="notices", verbose_name=_("integration"))
    kind = models.CharField(max_length=32, choices=Kind.choices, verbose_name=_("kind"))
    error_code = models.CharField(max_length=64, blank=True, verbose_name=_("error code"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING,
                              verbose_name=_("status"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(default=timezone.now, verbose_name=_("next attempt at"))
    # A delivery in progress holds the notice until then (a killed one's hold lapses).
    claimed_until = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed until"))
    # The last failure's exception type (never its text: it may carry addresses or secrets).
    last_error = models.CharField(max_length=200, blank=True, verbose_name=_("last error"))
    recipients = models.PositiveSmallIntegerField(null=True, blank=True,
                                                  verbose_name=_("recipients"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))

    objects = NoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-id"]
        indexes = [
            # Used by the notice sweep (deliver_notices): the few pending ones.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"),
                         name="notice_pending_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} notice for integration {self.integration_id}"


class ProviderBreaker(models.Model):
    """A provider's circuit breaker (integrations.breaker): when its refreshes fail transiently
    across many credentials, stop asking it, probe now and then, resume when it answers. One row
    per provider, shared by every process and machine."""

    class State(models.TextChoices):
        CLOSED = "closed", _("Working")
        OPEN = "open", _("Down: not asked, probed now and then")

    provider = models.CharField(max_length=64, primary_key=True, verbose_name=_("provider"))
    state = models.CharField(max_length=10, choices=State.choices, default=State.CLOSED,
                             verbose_name=_("state"))
    # Transient failures in a row across credentials, and how many distinct ones (while closed).
    failures = models.PositiveIntegerField(default=0, verbose_name=_("failures"))
    failing_credentials = models.JSONField(default=list, blank=True,
                                           verbose_name=_("failing credentials"))
    opened_at = models.DateTimeField(null=True, blank=True, verbose_name=_("opened at"))
    # No refresh asks the provider before this, but for one probe at a time.
    retry_at = models.DateTimeField(null=True, blank=True, verbose_name=_("retry at"))
    probe_until = models.DateTimeField(null=True, blank=True, verbose_name=_("probe until"))
    # How long the breaker stays open before the next probe (doubles while probes fail).
    open_seconds = models.PositiveIntegerField(default=0, verbose_name=_("open seconds"))
    last_error_code = models.CharField(max_length=64, blank=True,
                                       verbose_name=_("last error code"))
    # When the provider last recovered: transient failures before it are not held against a
    # credential (the 3-day escalation counts from here).
    recovered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("recovered at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("provider breaker")
        verbose_name_plural = _("provider breakers")

    def __str__(self):
        return f"{self.provider}: {self.get_state_display()}"
