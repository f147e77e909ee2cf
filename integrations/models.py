from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from .fields import EncryptedTextField, is_undecryptable


class Integration(models.Model):
    """One connected third-party account of one user (one row per user, provider, account)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Connected"
        REAUTH_REQUIRED = "reauth_required", "Needs reconnect"
        DISCONNECTED = "disconnected", "Disconnected"

    class SyncStatus(models.TextChoices):
        NEVER = "never", "Never synced"
        OK = "ok", "OK"
        ERROR = "error", "Error"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="integrations"
    )
    provider = models.CharField(max_length=64)
    external_id = models.CharField(max_length=255)
    display_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    last_sync_status = models.CharField(
        max_length=10, choices=SyncStatus.choices, default=SyncStatus.NEVER
    )
    last_sync_message = models.TextField(blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "provider", "external_id"], name="integration_unique_account"
            )
        ]
        # Used by the admin's status filter and the health endpoint's counts.
        indexes = [models.Index(fields=["status", "provider"], name="integration_status_idx")]

    def __str__(self):
        return f"{self.provider}: {self.display_name or self.external_id}"


class OAuthCredential(models.Model):
    """The tokens of one integration. Only the token service writes them after connect."""

    integration = models.OneToOneField(
        Integration, on_delete=models.CASCADE, related_name="credential"
    )
    access_token = EncryptedTextField(null=True, blank=True)
    refresh_token = EncryptedTextField(null=True, blank=True)
    token_type = models.CharField(max_length=32, default="Bearer")
    # Plain and indexed: used by refresh_tokens to select what expires soon.
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    scopes = models.JSONField(default=list, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    refresh_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_error_code = models.CharField(max_length=64, blank=True)
    last_error_message = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # No refresh attempt before this time after a failure (so a broken credential is not hammered).
    retry_after = models.DateTimeField(null=True, blank=True)
    # The single-flight refresh lease: who holds it and until when (a dead holder's lease lapses).
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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


class IntegrationEvent(models.Model):
    """History: one row per refresh attempt, sync or state change. Admin shows it."""

    class Kind(models.TextChoices):
        CONNECTED = "connected", "Connected"
        RECONNECTED = "reconnected", "Reconnected"
        DISCONNECTED = "disconnected", "Disconnected"
        REFRESH = "refresh", "Token refresh"
        STATUS = "status", "Status change"
        SYNC = "sync", "Sync"

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        REAUTH = "reauth", "Re-auth required"
        OPERATOR = "operator", "Operator action needed"
        TRANSIENT = "transient", "Transient failure"
        ERROR = "error", "Error"

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.OK)
    error_code = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(null=True, blank=True)
    rotated = models.BooleanField(null=True, blank=True)

    class Meta:
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
    mode = models.CharField(max_length=10, default="inline")  # inline | enqueue | dry-run
    due = models.PositiveIntegerField(default=0)
    refreshed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    reauth = models.PositiveIntegerField(default=0)
    operator = models.PositiveIntegerField(default=0)
    transient = models.PositiveIntegerField(default=0)
    enqueued = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    @property
    def failed(self):
        return self.reauth + self.operator + self.transient

    @property
    def outcome(self):
        if self.finished_at is None:
            return "running"
        return "failures" if self.failed else "ok"

    def __str__(self):
        return f"refresh run {self.started_at:%Y-%m-%d %H:%M} ({self.outcome})"


# --- Google Business Profile data ---------------------------------------------------------

class GbpAccount(models.Model):
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="gbp_accounts")
    name = models.CharField(max_length=100)  # "accounts/123"
    account_name = models.CharField(max_length=255, blank=True)
    type = models.CharField(max_length=30, blank=True)
    role = models.CharField(max_length=30, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "name"], name="gbp_account_unique")]

    def __str__(self):
        return self.account_name or self.name


class GbpLocation(models.Model):
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="gbp_locations")
    account = models.ForeignKey(GbpAccount, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(max_length=100)  # "locations/456"
    title = models.CharField(max_length=255, blank=True)
    store_code = models.CharField(max_length=100, blank=True)
    address = models.CharField(max_length=500, blank=True)
    website = models.URLField(max_length=500, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    category = models.CharField(max_length=255, blank=True)
    maps_uri = models.URLField(max_length=500, blank=True)
    average_rating = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    total_review_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "name"], name="gbp_location_unique")]
        ordering = ["title", "name"]

    def __str__(self):
        return self.title or self.name

    @property
    def location_id(self):
        return self.name.split("/", 1)[1]


class GbpDailyMetric(models.Model):
    location = models.ForeignKey(GbpLocation, on_delete=models.CASCADE, related_name="metrics")
    metric = models.CharField(max_length=60)
    date = models.DateField()
    value = models.BigIntegerField(default=0)

    class Meta:
        # Used by the sync's upsert and by the detail page's 30-day chart.
        constraints = [models.UniqueConstraint(fields=["location", "metric", "date"],
                                               name="gbp_metric_unique")]
        indexes = [models.Index(fields=["location", "date"], name="gbp_metric_date_idx")]


class GbpReview(models.Model):
    location = models.ForeignKey(GbpLocation, on_delete=models.CASCADE, related_name="reviews")
    review_id = models.CharField(max_length=255)
    reviewer_name = models.CharField(max_length=255, blank=True)
    star_rating = models.PositiveSmallIntegerField(default=0)  # 1..5, 0 when unspecified
    comment = models.TextField(blank=True)
    create_time = models.DateTimeField(null=True, blank=True)
    update_time = models.DateTimeField(null=True, blank=True)
    reply_comment = models.TextField(blank=True)
    reply_update_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "review_id"], name="gbp_review_unique")]
        ordering = ["-create_time"]
