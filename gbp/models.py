"""Google Business Profile data of an integration: accounts, locations, daily metrics, reviews.

The tables were created by the `integrations` app before GBP became an app of its own; the
gbp app adopted them in its first migration (see gbp/migrations/0001_initial.py).
"""

from django.db import models

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
        constraints = [models.UniqueConstraint(fields=["location", "review_id"],
                                               name="gbp_review_unique")]
        ordering = ["-create_time"]
