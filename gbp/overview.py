"""What the Business Profile pages show, read in a bounded number of queries at any size.

The overview of an integration's locations (totals for a period with the change against the
period before, a table of every location sortable by any column) reads a constant number of
queries: the locations, one grouped sum of their daily totals (GbpDailyTotal, gbp.rollup)
over both periods, one grouped count of
unanswered reviews, and one daily series for the trend lines of the rows on the page.
Sorting, searching and paging happen on those rows in Python (a thousand locations are a
thousand small tuples), so any column sorts, names in natural order ("#2" before "#12").
"""

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import GbpDailyTotal, GbpLocation, GbpReview

# The headline series: their label and the metrics they add up (Google reports impressions in
# four parts).
SERIES = {
    "impressions": (_("Impressions"), (
        "BUSINESS_IMPRESSIONS_DESKTOP_MAPS", "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
        "BUSINESS_IMPRESSIONS_MOBILE_MAPS", "BUSINESS_IMPRESSIONS_MOBILE_SEARCH")),
    "calls": (_("Calls"), ("CALL_CLICKS",)),
    "website": (_("Website clicks"), ("WEBSITE_CLICKS",)),
    "directions": (_("Directions"), ("BUSINESS_DIRECTION_REQUESTS",)),
}
METRICS = tuple(m for _label, names in SERIES.values() for m in names)
PERIODS = (7, 28, 90)
DEFAULT_PERIOD = 28
MAX_CUSTOM_DAYS = 366
# The table's columns that sort (the query parameter's value), besides the name.
SORTS = ("name", "impressions", "change", "calls", "website", "directions", "rating",
         "unanswered")


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    choice: str  # "7", "28", "90" or "custom"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> "Period":
        """The period of the same length just before this one."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end, self.choice)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def query(self) -> dict:
        """The query parameters that choose this period again (for links that keep it)."""
        if self.choice == "custom":
            return {"period": "custom", "start": self.start.isoformat(),
                    "end": self.end.isoformat()}
        return {"period": self.choice}


def last_day(locations) -> date:
    """The last day with stored metrics among `locations` (a queryset), or yesterday when there
    are none yet: one index lookup per location, not a scan of their metrics."""
    latest = GbpDailyTotal.objects.filter(location=OuterRef("pk")).order_by("-date")
    found = locations.annotate(last=Subquery(latest.values("date")[:1])).aggregate(
        m=Max("last"))["m"]
    return found or timezone.localdate() - timedelta(days=1)


def period_from(params, end: date) -> tuple[Period, bool]:
    """The period a page asks for (`period` 7/28/90 ending on `end`, or custom `start`/`end`),
    and whether the request was understood (else: the default period)."""
    choice = params.get("period") or str(DEFAULT_PERIOD)
    if choice == "custom":
        try:
            start, stop = (date.fromisoformat(params.get(k, "")) for k in ("start", "end"))
        except ValueError:
            return default_period(end), False
        if start <= stop and (stop - start).days < MAX_CUSTOM_DAYS:
            return Period(start, stop, "custom"), True
        return default_period(end), False
    if choice.isdigit() and int(choice) in PERIODS:
        days = int(choice)
        return Period(end - timedelta(days=days - 1), end, choice), True
    return default_period(end), False


def default_period(end: date) -> Period:
    return Period(end - timedelta(days=DEFAULT_PERIOD - 1), end, str(DEFAULT_PERIOD))


def change(now: int, before: int) -> float | None:
    """The change in percent against the period before, or None when there was nothing then."""
    if not before:
        return None
    return (now - before) * 100.0 / before


def natural_key(text: str):
    """Names in natural order: "Bakery #2" before "Bakery #12", case ignored."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", text.casefold()) if part]


@dataclass
class Row:
    location_id: int
    integration_id: int
    name: str
    title: str
    address: str
    rating: float | None
    reviews: int
    unanswered: int = 0
    totals: dict = field(default_factory=dict)
    previous: dict = field(default_factory=dict)
    trend: list = field(default_factory=list)

    @property
    def change(self) -> float | None:
        return change(self.totals.get("impressions", 0), self.previous.get("impressions", 0))


def _sums(prefix: str, period: Period) -> dict:
    in_period = Q(date__gte=period.start, date__lte=period.end)
    return {f"{prefix}{key}": Sum(key, filter=in_period) for key in SERIES}


def locations_of(integrations):
    """The locations of an integration, or of a queryset of them (an owner's)."""
    if not isinstance(integrations, QuerySet):
        integrations = [integrations]
    return GbpLocation.objects.filter(integration__in=integrations)


def rows(integrations, period: Period) -> list[Row]:
    """Every location of an integration (or of a queryset of them: an owner's) with its totals
    for `period` and the one before, its rating and its unanswered reviews: three queries,
    whatever the number of locations."""
    locations = locations_of(integrations)
    found = {loc["pk"]: Row(loc["pk"], loc["integration_id"], loc["name"], loc["title"],
                            loc["address"], float(loc["average_rating"])
                            if loc["average_rating"] is not None else None,
                            loc["total_review_count"])
             for loc in locations.values(
                 "pk", "integration_id", "name", "title", "address", "average_rating",
                 "total_review_count")}
    if not found:
        return []
    before = period.previous
    sums = (GbpDailyTotal.objects
            .filter(location__in=locations, date__gte=before.start,
                    date__lte=period.end)
            .values("location_id").annotate(**_sums("now_", period), **_sums("then_", before)))
    for item in sums:
        row = found.get(item["location_id"])
        if row:
            row.totals = {key: item[f"now_{key}"] or 0 for key in SERIES}
            row.previous = {key: item[f"then_{key}"] or 0 for key in SERIES}
    unanswered = (GbpReview.objects.filter(location__in=locations, reply_comment="")
                  .values("location_id").annotate(n=Count("pk")))
    for item in unanswered:
        if item["location_id"] in found:
            found[item["location_id"]].unanswered = item["n"]
    for row in found.values():
        row.totals = row.totals or dict.fromkeys(SERIES, 0)
        row.previous = row.previous or dict.fromkeys(SERIES, 0)
    return list(found.values())


def totals(all_rows: list[Row]) -> list[dict]:
    """The period's totals over every location, with their change: one entry per series."""
    result = []
    for key, (label, _names) in SERIES.items():
        now = sum(row.totals[key] for row in all_rows)
        then = sum(row.previous[key] for row in all_rows)
        result.append({"key": key, "label": label, "value": now, "previous": then,
                       "change": change(now, then)})
    return result


def search(all_rows: list[Row], text: str) -> list[Row]:
    words = text.casefold().split()
    if not words:
        return all_rows
    return [row for row in all_rows
            if all(w in f"{row.title} {row.address}".casefold() for w in words)]


def sort_from(params) -> tuple[str, bool]:
    """The table's order from `sort` ("-calls": calls, largest first; default: by name)."""
    value = params.get("sort", "name")
    column = value.lstrip("-")
    if column not in SORTS:
        return "name", False
    return column, value.startswith("-")


def sort(all_rows: list[Row], column: str, descending: bool) -> list[Row]:
    """Sorted by a column of SORTS; ties (and the name column) in natural order of the name,
    locations without a value (no rating, no change) last either way."""
    by_name = sorted(all_rows, key=lambda row: natural_key(row.title or row.name))
    if column == "name":
        return by_name[::-1] if descending else by_name

    def value(row):
        if column == "change":
            return row.change
        if column == "rating":
            return row.rating
        if column in ("unanswered",):
            return row.unanswered
        return row.totals.get(column, 0)

    known = [row for row in by_name if value(row) is not None]
    unknown = [row for row in by_name if value(row) is None]
    return sorted(known, key=value, reverse=descending) + unknown


def add_trends(page_rows: list[Row], period: Period) -> None:
    """Each row's daily impressions over the period (its trend line): one grouped query for the
    rows of one page."""
    if not page_rows:
        return
    index = {day: i for i, day in enumerate(period.dates())}
    by_id = {row.location_id: row for row in page_rows}
    for row in page_rows:
        row.trend = [0] * len(index)
    daily = GbpDailyTotal.objects.filter(location_id__in=list(by_id), date__gte=period.start,
                                         date__lte=period.end)
    for location_id, day, value in daily.values_list("location_id", "date", "impressions"):
        by_id[location_id].trend[index[day]] = value


def series(location, period: Period) -> dict:
    """One location's headline series over the period: {key: [value per day]}."""
    index = {day: i for i, day in enumerate(period.dates())}
    values = {key: [0] * len(index) for key in SERIES}
    for row in GbpDailyTotal.objects.filter(location=location, date__gte=period.start,
                                            date__lte=period.end).values("date", *SERIES):
        for key in SERIES:
            values[key][index[row["date"]]] = row[key]
    return values


def rating_distribution(location) -> list[dict]:
    """How many of its reviews gave each number of stars, five first, with their share."""
    counts = dict(GbpReview.objects.filter(location=location, star_rating__gte=1)
                  .values_list("star_rating").annotate(n=Count("pk")).values_list(
                      "star_rating", "n"))
    total = sum(counts.values())
    return [{"stars": stars, "count": counts.get(stars, 0),
             "share": round(counts.get(stars, 0) * 100 / total) if total else 0}
            for stars in range(5, 0, -1)]
