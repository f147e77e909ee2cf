"""The Business Profile pages at agency size: server time, HTML size and queries per page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_pages python -m bench.gbp_pages \\
        [--locations 1000] [--days 90] [--reviews 20] [--rounds 20]

Seeds one integration with --locations locations, --days of the seven synced daily metrics each
(COPY on PostgreSQL) and --reviews reviews each (a third of them unanswered), then asks each
page --rounds times through Django's test client in this process (the whole request: URL
resolution, middleware, the adapter's scoping, queries, template) and prints the median and the
95th percentile server time, the HTML size and the number of SQL statements. The exports are
streamed: their peak Python memory (tracemalloc) is printed next to their size.

The budget the overview is held to (the issue's aim): one page of the table under 300 ms of
server time and under 300 KB of HTML at 1,000 locations x 90 days on PostgreSQL.
"""

import argparse
import io
import os
import statistics
import sys
import time
import tracemalloc
from datetime import datetime, timedelta, timezone as tz

from bench.common import QueryCounter, setup_django

BUDGET_MS, BUDGET_KB = 300, 300


def seed(args):
    from django.db import connection

    from accounts.models import User
    from gbp import rollup
    from gbp.models import GbpAccount, GbpDailyMetric, GbpLocation, GbpReview
    from gbp.parse import METRICS
    from integrations.adapter import get_adapter
    from integrations.models import Integration

    user, _ = User.objects.get_or_create(username="bench-agency",
                                         defaults={"email": "agency@example.com"})
    Integration.objects.filter(connected_by=user).delete()
    owner = list(get_adapter().owners_for(user))[0]
    integration = Integration.objects.create(owner=owner, connected_by=user,
                                             provider="google_business_profile",
                                             external_id="bench-agency",
                                             display_name="agency@example.com")
    account = GbpAccount.objects.create(integration=integration, name="accounts/1",
                                        account_name="Agency")
    locations = GbpLocation.objects.bulk_create(
        GbpLocation(integration=integration, account=account, name=f"locations/{n}",
                    title=f"Bakery #{n}", address=f"{n} Main Street, Springfield",
                    average_rating=3 + n % 20 / 10, total_review_count=args.reviews)
        for n in range(1, args.locations + 1))
    end = (datetime.now(tz.utc) - timedelta(days=2)).date()
    started = time.perf_counter()
    values = ((loc.pk, metric, end - timedelta(days=d), (loc.pk * 7 + d * 3 + i) % 50)
              for loc in locations for i, metric in enumerate(METRICS)
              for d in range(args.days))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            table = GbpDailyMetric._meta.db_table
            with cursor.cursor.copy(f"COPY {table} (location_id, metric, date, value) "
                                    "FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
    else:
        GbpDailyMetric.objects.bulk_create(
            (GbpDailyMetric(location_id=a, metric=b, date=c, value=d) for a, b, c, d in values),
            batch_size=5000)
    rollup.rebuild([loc.pk for loc in locations])  # what the sync writes with the metrics
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # the rows a previous run deleted too
    created = datetime.now(tz.utc)
    GbpReview.objects.bulk_create(
        (GbpReview(location=loc, review_id=f"{loc.pk}-{i}", reviewer_name="Ana",
                   star_rating=1 + (loc.pk + i) % 5, comment="Great bread.",
                   create_time=created - timedelta(hours=loc.pk + i * 24),
                   reply_comment="" if i % 3 == 0 else "Thank you!")
         for loc in locations for i in range(args.reviews)), batch_size=5000)
    print(f"seeded {args.locations:,} locations x {args.days} days x {len(METRICS)} metrics "
          f"= {args.locations * args.days * len(METRICS):,} metric rows, "
          f"{args.locations * args.reviews:,} reviews in {time.perf_counter() - started:.1f} s")
    return user, integration, locations


def measure(client, url, rounds, counter):
    times, size, queries = [], 0, 0
    for i in range(rounds + 1):
        before = counter.count
        started = time.perf_counter()
        response = client.get(url)
        body = response.content
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        if i:  # the first request warms caches (templates, translations)
            times.append(elapsed * 1000)
        size, queries = len(body), counter.count - before
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], size, queries


def export(client, url, counter):
    """Timed in one request, its peak memory traced in another (tracemalloc slows Python
    several times over)."""
    before = counter.count
    started = time.perf_counter()
    size = sum(len(chunk) for chunk in client.get(url).streaming_content)
    elapsed = time.perf_counter() - started
    queries = counter.count - before
    tracemalloc.start()
    sum(len(chunk) for chunk in client.get(url).streaming_content)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed * 1000, size, peak, queries


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--locations", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--reviews", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    override_settings(ALLOWED_HOSTS=["testserver"], DEBUG=False).enable()
    user, integration, locations = seed(args)
    client = Client()
    client.force_login(user)
    counter = QueryCounter().install()
    base = f"/integrations/gbp/{integration.pk}/"
    middle = locations[len(locations) // 2].pk
    pages = [
        ("overview, 28 days (default)", base),
        ("overview, 90 days", f"{base}?period=90"),
        ("overview, 90 days, by calls", f"{base}?period=90&sort=-calls"),
        ("overview, page 20", f"{base}?period=90&page=20"),
        ("overview, search", f"{base}?period=90&q=%2312"),
        ("location, 90 days", f"{base}locations/{middle}/?period=90"),
        ("unanswered reviews", f"{base}reviews/"),
    ]
    print(f"database: {connection.vendor}; load average {os.getloadavg()[0]:.2f}; "
          f"{args.rounds} rounds each")
    print(f"{'page':34} {'median ms':>10} {'p95 ms':>8} {'HTML KB':>8} {'queries':>8}")
    worst_ms = worst_kb = 0
    for label, url in pages:
        median, p95, size, queries = measure(client, url, args.rounds, counter)
        print(f"{label:34} {median:10.1f} {p95:8.1f} {size / 1024:8.1f} {queries:8}")
        if label.startswith("overview"):
            worst_ms, worst_kb = max(worst_ms, median), max(worst_kb, size / 1024)
    print(f"{'export':34} {'ms':>10} {'MB':>8} {'peak MB':>8} {'queries':>8}")
    for label, url in [("locations table CSV, 90 days", f"{base}locations.csv?period=90"),
                       ("daily metrics CSV, all, 90 days", f"{base}daily.csv?period=90")]:
        ms, size, peak, queries = export(client, url, counter)
        print(f"{label:34} {ms:10.1f} {size / 2**20:8.2f} {peak / 2**20:8.2f} {queries:8}")
    verdict = "within" if worst_ms < BUDGET_MS and worst_kb < BUDGET_KB else "OVER"
    print(f"overview: worst median {worst_ms:.0f} ms, largest page {worst_kb:.0f} KB: {verdict} "
          f"the budget of {BUDGET_MS} ms and {BUDGET_KB} KB; load average "
          f"{os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
