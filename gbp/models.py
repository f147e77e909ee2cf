"""Google Business Profile data of an integration: accounts, locations, daily metrics, reviews,
and the state of its sync.

The tables were created by the `integrations` app before GBP became an app of its own; the
gbp app adopted them in its first migration (see gbp/migrations/0001_initial.py).
"""

from django.conf import settings
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from integrations.conf import owner_model_name
from integrations.models import Integration


class GbpAccount(models.Model):
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE,
                                    related_name="gbp_accounts")
    name = models.CharField(max_length=100)  # "accounts/123"
    account_name = models.CharField(max_length=255, blank=True)
    type = models.CharField(max_length=30, blank=True)
    role = models.CharField(max_length=30, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "name"],
                                               name="gbp_account_unique")]

    def __str__(self):
        return self.account_name or self.name


class GbpLocation(models.Model):
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE,
                                    related_name="gbp_locations")
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
    # The last full listing of its reviews (the only reading that deletes reviews).
    reviews_full_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "name"],
                                               name="gbp_location_unique")]
        ordering = ["title", "name"]

    def __str__(self):
        return self.title or self.name

    @property
    def location_id(self):
        return self.name.split("/", 1)[1]


class GbpDailyMetric(models.Model):
    # No index of its own: the unique constraint and the date index both lead with it (one index
    # less to maintain for each of the 630 values a location's first sync writes).
    location = models.ForeignKey(GbpLocation, on_delete=models.CASCADE, related_name="metrics",
                                 db_index=False)
    metric = models.CharField(max_length=60)
    date = models.DateField()
    value = models.BigIntegerField(default=0)

    class Meta:
        # Used by the sync's upsert and by the detail page's 30-day chart.
        constraints = [models.UniqueConstraint(fields=["location", "metric", "date"],
                                               name="gbp_metric_unique")]
        indexes = [models.Index(fields=["location", "date"], name="gbp_metric_date_idx")]


class GbpDailyTotal(models.Model):
    """A location's headline numbers of one day (gbp.overview.SERIES: impressions are four of
    Google's metrics added up): the daily metrics rolled up as the sync writes them, so the
    overview reads one narrow row per location and day instead of seven."""

    location = models.ForeignKey(GbpLocation, on_delete=models.CASCADE, related_name="totals",
                                 db_index=False)  # the unique constraint leads with it
    date = models.DateField()
    impressions = models.BigIntegerField(default=0)
    calls = models.BigIntegerField(default=0)
    website = models.BigIntegerField(default=0)
    directions = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "date"],
                                               name="gbp_daily_total_unique")]


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
        constraints = [models.UniqueConstraint(fields=["location", "review_id"],
                                               name="gbp_review_unique")]
        ordering = ["-create_time"]


class GbpSyncState(models.Model):
    """How an integration's sync is doing: one row per integration, written by the sync.

    The lease (`lease_owner`, `lease_until`) is taken with one conditional UPDATE, like the token
    service's refresh lease: one sync per integration at a time across threads, processes and
    machines; a killed holder's lease lapses after GBP_SYNC_LEASE_SECONDS. The page reads the
    status and progress from here; "Sync now" is throttled on `requested_at`.
    """

    class Status(models.TextChoices):
        IDLE = "idle", _("Idle")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Syncing")
        PAUSED = "paused", _("Paused for Google's quota")

    integration = models.OneToOneField(Integration, on_delete=models.CASCADE, primary_key=True,
                                       related_name="gbp_sync_state")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IDLE)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)  # the last "Sync now"
    started_at = models.DateTimeField(null=True, blank=True)  # this run (kept across a pause)
    finished_at = models.DateTimeField(null=True, blank=True)
    resume_at = models.DateTimeField(null=True, blank=True)
    locations_total = models.PositiveIntegerField(default=0)
    locations_done = models.PositiveIntegerField(default=0)
    # Locations a paused run finished: its resumption skips them.
    done_locations = models.JSONField(default=list, blank=True)
    # The last sync's outcome code ("" when it went well): for pages, tools and monitors.
    last_error_code = models.CharField(max_length=64, blank=True)
    # When the last complete sync started: reviews updated before it are stored (the
    # incremental review reading stops at them).
    last_complete_started_at = models.DateTimeField(null=True, blank=True)
    # The last successful sync's counts (gbp.result.SUMMARY_COUNTS): the detail page words them
    # in the reader's language (the integration keeps the English sentence for operators).
    last_summary = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return f"sync state of integration {self.integration_id}: {self.status}"


class GbpSyncThrottle(models.Model):
    """The last "Sync now" of one account, by owner, provider and account id rather than by
    integration: removing a disconnected integration deletes its GbpSyncState, and the same
    account connected again is a new integration; a click on it within
    GBP_SYNC_NOW_MIN_INTERVAL of this one is refused (a remove and a reconnect are no way
    around the throttle). `integration`: the one clicked on (null once it is removed)."""

    owner = models.ForeignKey(owner_model_name(), on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=64)
    external_id = models.CharField(max_length=255)
    requested_at = models.DateTimeField()
    integration = models.ForeignKey(Integration, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "provider", "external_id"],
                                               name="gbp_sync_throttle_unique")]

    def __str__(self):
        return f"last Sync now of {self.provider}:{self.external_id} at {self.requested_at}"


def upsert_named(model, scope: dict, parsed: dict, names: list, *, delete_missing: bool):
    """Bulk create-or-update rows of `scope` keyed by `name`: one SELECT, then only what
    changed. Returns (rows written, rows deleted, {name: row} of every name in `parsed`)."""
    existing = {row.name: row for row in model.objects.filter(**scope)}
    new, changed, rows = [], [], {}
    for key, values in parsed.items():
        row = existing.get(key)
        if row is None:
            row = model(**scope, name=key, **values)
            new.append(row)
        elif any(getattr(row, f) != values[f] for f in names):
            for f in names:
                setattr(row, f, values[f])
            changed.append(row)
        rows[key] = row
    with transaction.atomic():
        model.objects.bulk_create(new, batch_size=500)  # sets their primary keys
        if changed:
            model.objects.bulk_update(changed, names, batch_size=500)
        deleted = 0
        if delete_missing:
            gone = [row.pk for key, row in existing.items() if key not in parsed]
            if gone:
                deleted = model.objects.filter(pk__in=gone).delete()[0]
    return len(new) + len(changed), deleted, rows
