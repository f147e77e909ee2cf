from django.db import models
from django.utils import timezone
from django.utils.translation import gettext

ENDPOINTS = [
    ("token", "Token endpoint"),
    ("revoke", "Revocation endpoint"),
    ("authorize", "Authorization endpoint"),
    ("userinfo", "User info"),
    ("accounts", "GBP accounts.list"),
    ("locations", "GBP locations.list"),
    ("metrics", "GBP fetchMultiDailyMetricsTimeSeries"),
    ("reviews", "GBP reviews.list"),
    ("reply", "GBP reviews.updateReply/deleteReply"),
]


class Fault(models.Model):
    """The next `remaining` calls to `endpoint` answer with this fault (None: until cleared)."""

    endpoint = models.CharField(max_length=20, choices=ENDPOINTS)
    kind = models.CharField(max_length=30)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.TextField(blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    retry_after = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    remaining = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        # Translators: how many more calls a fault answers: "token: 500 (2 more)".
        times = (gettext("until cleared") if self.remaining is None
                 else gettext("{count} more").format(count=self.remaining))
        return f"{self.endpoint}: {self.kind} ({times})"


class Call(models.Model):
    """One request the sandbox answered: lets tests count what reached the provider."""

    endpoint = models.CharField(max_length=20, choices=ENDPOINTS, db_index=True)
    detail = models.CharField(max_length=100, blank=True)
    status = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)


class Reply(models.Model):
    """A reply written (or deleted) through the API, over the generated reviews: per sandbox
    user, location and review. `deleted` keeps a generated reply deleted once deleted."""

    username = models.CharField(max_length=255)
    location_id = models.CharField(max_length=40)
    review_id = models.CharField(max_length=40)
    comment = models.TextField(blank=True)
    update_time = models.DateTimeField(default=timezone.now)
    deleted = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["username", "location_id", "review_id"],
                                               name="sandbox_reply_unique")]
