"""The Business Profile pages an agency works in: a location's page (its charts, rating
distribution and reviews with their replies), the unanswered reviews across locations (reply in
bulk), replying, editing and deleting a reply, and the CSV exports. The overview (the
integration's page) is gbp.views.detail, with its table read by gbp.overview.

Every lookup is scoped through the host's adapter (another owner's integration, location or
review is a 404); replying is the adapter's "reply" action. A reply that fails is shown again
with the text that was typed and what went wrong, in plain words: nothing typed is lost.
"""

import csv
from urllib.parse import urlsplit, urlunsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integrations.adapter import get_adapter, integration_or_404
from integrations.providers import registry
from integrations.security import page_headers

from . import overview, replies
from .charts import line_chart
from .models import GbpDailyMetric, GbpLocation, GbpReview
from .parse import METRICS
from .providers import provider_ids

REVIEWS_PER_PAGE = 20
STAR_FILTERS = ("5", "4", "3", "2", "1")


def _integration(request, integration_id, action="view"):
    integration = integration_or_404(request, integration_id, action)
    provider = registry.find(integration.provider)
    return integration, (provider.name if provider else integration.provider)


def owner_integrations(request):
    """Every Business Profile integration of the request's owner (the host's adapter says who
    that is)."""
    return get_adapter().integrations_for(request).filter(provider__in=provider_ids())


def _scope(request, integration_id):
    """The integrations an export covers: one (by id, scoped), or every Business Profile
    integration of the request's owner (None)."""
    if integration_id is not None:
        integrations, _name = _integration(request, integration_id)
    else:
        integrations = owner_integrations(request)
    return integrations, overview.locations_of(integrations)


def _location(integration, location_id) -> GbpLocation:
    return get_object_or_404(GbpLocation, pk=location_id, integration=integration)


def requested_period(request, locations):
    """The period the page asks for (its `period`, `start`, `end`), ending by default on the
    last day stored for `locations`; one it cannot read is said and replaced by the default."""
    period, understood = overview.period_from(request.GET, overview.last_day(locations))
    if not understood and request.GET.get("period"):
        messages.info(request, gettext("That period could not be read; showing the last "
                                       "{days} days.").format(days=overview.DEFAULT_PERIOD))
    return period


def requested_table(request, integration, period):
    """Every row of the locations table, and the rows as the page asks (`q`, `sort`)."""
    every = overview.rows(integration, period)
    table = overview.sort(overview.search(every, request.GET.get("q", "").strip()),
                          *overview.sort_from(request.GET))
    return every, table


def _review_filters(request, reviews):
    """Reviews filtered as the page asks: `stars` (1-5) and `unanswered`."""
    stars = request.GET.get("stars", "")
    if stars in STAR_FILTERS:
        reviews = reviews.filter(star_rating=int(stars))
    else:
        stars = ""
    unanswered = request.GET.get("unanswered") == "1"
    if unanswered:
        reviews = reviews.filter(reply_comment="")
    return reviews, {"stars": stars, "unanswered": unanswered}


def _page(request, items, per_page):
    return Paginator(items, per_page).get_page(request.GET.get("page"))


# --- A location -------------------------------------------------------------------------------

@page_headers
@never_cache
@login_required
@require_GET
def location(request, integration_id, location_id):
    integration, provider_name = _integration(request, integration_id)
    return _render_location(request, integration, provider_name,
                            _location(integration, location_id))


def _render_location(request, integration, provider_name, loc, drafts=None):
    """The location's page; `drafts` ({review pk: (text, error)}) are replies that failed,
    shown again in their forms with what went wrong."""
    period = requested_period(request, GbpLocation.objects.filter(pk=loc.pk))
    now, before = overview.series(loc, period), overview.series(loc, period.previous)
    dates = period.dates()
    totals, charts = [], []
    for key, (label, _names) in overview.SERIES.items():
        value, previous = sum(now[key]), sum(before[key])
        totals.append({"label": label, "value": value,
                       "change": overview.change(value, previous)})
        if period.choice == "custom":
            title = gettext("{metric}, {start} to {end}").format(
                metric=label, start=date_format(period.start, "SHORT_DATE_FORMAT"),
                end=date_format(period.end, "SHORT_DATE_FORMAT"))
        else:
            title = ngettext("{metric}, last {days} day", "{metric}, last {days} days",
                             period.days).format(metric=label, days=period.days)
        charts.append(line_chart(dates, {str(label): now[key]}, title=title))
    distribution = overview.rating_distribution(loc)
    here = reverse("gbp:location", args=[integration.pk, loc.pk])
    reviews, filters = _review_filters(request, loc.reviews.order_by("-create_time", "-pk"))
    page = _page(request, reviews, REVIEWS_PER_PAGE)
    context = {
        "integration": integration, "provider_name": provider_name, "location": loc,
        "period": period, "periods": overview.PERIODS, "totals": totals, "charts": charts,
        "distribution": distribution, "reviews_total": sum(bar["count"] for bar in distribution),
        "page": page, "filters": filters,
        "stars_choices": STAR_FILTERS, "drafts": drafts or {},
        "may_reply": get_adapter().can_act(request, integration, "reply"),
        # Where the reply forms return: this page as asked (after a refused reply, the page the
        # reply was sent from).
        "next": request.get_full_path() if request.method == "GET" else _back(request, here),
        "unanswered_total": loc.reviews.filter(reply_comment="").count(),
    }
    return render(request, "gbp/location.html", context)


# --- Unanswered reviews across locations --------------------------------------------------------

@page_headers
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def reviews(request, integration_id):
    """Unanswered reviews across the integration's locations, newest first; POST replies to
    several at once (the fields `reply-<review id>`; empty ones are skipped)."""
    action = "reply" if request.method == "POST" else "view"
    integration, provider_name = _integration(request, integration_id, action)
    drafts = _post_replies(request, integration) if request.method == "POST" else {}
    if request.method == "POST" and not drafts:
        return redirect(request.get_full_path())
    unanswered = GbpReview.objects.filter(location__integration=integration, reply_comment="")
    unanswered, filters = _review_filters(request, unanswered.select_related("location")
                                          .order_by("-create_time", "-pk"))
    page = _page(request, unanswered, REVIEWS_PER_PAGE)
    # A review that failed stays on the page with its text, even when paging moved on.
    missing = [pk for pk in drafts if pk not in {review.pk for review in page}]
    extra = list(GbpReview.objects.filter(pk__in=missing).select_related("location"))
    context = {
        "integration": integration, "provider_name": provider_name, "page": page,
        "failed": extra, "filters": filters, "stars_choices": STAR_FILTERS, "drafts": drafts,
        "may_reply": get_adapter().can_act(request, integration, "reply"),
    }
    return render(request, "gbp/reviews.html", context)


def _post_replies(request, integration) -> dict:
    """Send every typed reply (gbp.replies.save_replies: after a quota or reconnect refusal the
    rest are not tried). Returns the drafts that were not sent: {review pk: (text, error)}."""
    typed = {}
    for key, text in request.POST.items():
        if key.startswith("reply-") and key[6:].isdigit() and text.strip():
            typed[int(key[6:])] = text
    if not typed:
        messages.info(request, gettext("Nothing to post: type a reply in a box first."))
        return {}
    found = GbpReview.objects.filter(pk__in=list(typed), location__integration=integration)
    # Not one of this integration's reviews (or gone): nothing to send.
    pairs = [(review, typed[review.pk]) for review in found.select_related("location__account")]
    drafts, sent = {}, 0
    for review, error in replies.save_replies(integration, pairs):
        if error is None:
            sent += 1
        else:
            drafts[review.pk] = (typed[review.pk], error.message)
    if sent:
        messages.success(request, ngettext("{count} reply posted.", "{count} replies posted.",
                                           sent).format(count=sent))
    if drafts:
        messages.error(request, ngettext(
            "{count} reply was not posted; its text is kept below.",
            "{count} replies were not posted; their text is kept below.",
            len(drafts)).format(count=len(drafts)))
    return drafts


# --- Replying to one review ---------------------------------------------------------------------

def _back(request, default):
    """Where to return after a reply: the page it was sent from (this site only), without its
    "unanswered" filter, so that the reply just written shows."""
    target = request.POST.get("next", "")
    if not target or not url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                         require_https=request.is_secure()):
        return default
    parts = urlsplit(target)
    query = QueryDict(parts.query, mutable=True)
    query.pop("unanswered", None)
    return urlunsplit(("", "", parts.path, query.urlencode(), ""))


def _own_review(integration, review_id) -> GbpReview:
    review = GbpReview.objects.filter(pk=review_id, location__integration=integration).first()
    if review is None:
        raise Http404("Unknown review")
    return review


@page_headers
@login_required
@require_POST
def reply(request, integration_id, review_id):
    """Post or edit the reply to one review. On failure the location's page comes back with the
    text typed and the reason."""
    integration, provider_name = _integration(request, integration_id, "reply")
    review = _own_review(integration, review_id)
    text = request.POST.get("text", "")
    editing = bool(review.reply_comment)
    try:
        replies.save_reply(integration, review, text)
    except replies.ReplyError as exc:
        messages.error(request, exc.message)
        return _render_location(request, integration, provider_name, review.location,
                                drafts={review.pk: (text, exc.message)})
    messages.success(request, gettext("Reply updated.") if editing else gettext("Reply posted."))
    default = reverse("gbp:location", args=[integration.pk, review.location_id])
    return redirect(f"{_back(request, default)}#review-{review.pk}")


@page_headers
@login_required
@require_POST
def delete_reply(request, integration_id, review_id):
    integration, provider_name = _integration(request, integration_id, "reply")
    review = _own_review(integration, review_id)
    try:
        replies.delete_reply(integration, review)
    except replies.ReplyError as exc:
        messages.error(request, exc.message)
        return _render_location(request, integration, provider_name, review.location)
    messages.success(request, gettext("Reply deleted."))
    default = reverse("gbp:location", args=[integration.pk, review.location_id])
    return redirect(f"{_back(request, default)}#review-{review.pk}")


# --- Exports ------------------------------------------------------------------------------

class _Echo:
    """A file-like object whose write returns the line: csv.writer feeds a streaming response."""

    def write(self, value):
        return value


def _csv(rows, filename):
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (text from reviews and Google)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@page_headers
@never_cache
@login_required
@require_GET
def export_locations(request, integration_id=None):
    """The locations table as CSV (of an integration, or of the owner's): the period, search
    and order of the page."""
    integrations, locations = _scope(request, integration_id)
    period = requested_period(request, locations)
    _every, table = requested_table(request, integrations, period)
    labels = [str(label) for label, _names in overview.SERIES.values()]

    def lines():
        yield ([gettext("Location"), gettext("Address"), gettext("From"), gettext("To")]
               + labels + [gettext("Previous {metric}").format(metric=label) for label in labels]
               + [gettext("Average rating"), gettext("Reviews"), gettext("Unanswered reviews")])
        for row in table:
            yield ([_safe(row.title), _safe(row.address), period.start, period.end]
                   + [row.totals[key] for key in overview.SERIES]
                   + [row.previous[key] for key in overview.SERIES]
                   + ["" if row.rating is None else row.rating, row.reviews, row.unanswered])

    scope = integration_id if integration_id is not None else "all"
    return _csv(lines(), f"locations-{scope}-{period.start}-{period.end}.csv")


@page_headers
@never_cache
@login_required
@require_GET
def export_daily(request, integration_id=None, location_id=None):
    """Daily metrics for the period as CSV, one row per location and day, one column per metric:
    of one location, of an integration's or of the owner's (read in chunks, streamed as it is
    read)."""
    integration, locations = _scope(request, integration_id)
    if location_id is not None:
        locations = locations.filter(pk=_location(integration, location_id).pk)
    period = requested_period(request, locations)
    titles = dict(locations.values_list("pk", "title"))
    metrics = list(METRICS)
    # In the unique index's order (location, metric, date): no sort of the whole range; one
    # location's days are held at a time, then written.
    values = (GbpDailyMetric.objects
              .filter(location__in=locations, date__gte=period.start, date__lte=period.end,
                      metric__in=metrics)
              .order_by("location_id", "metric", "date")
              .values_list("location_id", "date", "metric", "value"))

    def rows_of(location_pk, days):
        title = _safe(titles.get(location_pk, ""))
        for day in sorted(days):
            yield [title, day] + [days[day].get(m, 0) for m in metrics]

    def lines():
        yield [gettext("Location"), gettext("Date")] + metrics
        current, days = None, {}
        for location_pk, day, metric, value in values.iterator(chunk_size=5000):
            if location_pk != current:
                yield from rows_of(current, days)
                current, days = location_pk, {}
            days.setdefault(day, {})[metric] = value
        yield from rows_of(current, days)

    scope = (f"location-{location_id}" if location_id is not None
             else f"locations-{integration_id if integration_id is not None else 'all'}")
    return _csv(lines(), f"daily-{scope}-{period.start}-{period.end}.csv")

