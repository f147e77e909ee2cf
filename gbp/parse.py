"""What Google sends, checked and coerced field by field (gbp.fields): an item in the wrong shape
raises BadData naming the item and the field, never a TypeError in a write. Anything a reading
raises that the checks did not foresee (a TypeError, a ValueError, a RecursionError) is BadData
too, naming the item: the item fails, not the sync."""

import functools
from datetime import date

from . import fields
from .client import UNREADABLE, BadData

METRICS = [
    "BUSINESS_IMPRESSIONS_DESKTOP_MAPS",
    "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
    "BUSINESS_IMPRESSIONS_MOBILE_MAPS",
    "BUSINESS_IMPRESSIONS_MOBILE_SEARCH",
    "CALL_CLICKS",
    "WEBSITE_CLICKS",
    "BUSINESS_DIRECTION_REQUESTS",
]
READ_MASK = "name,title,storeCode,storefrontAddress,websiteUri,phoneNumbers,categories,metadata"


def reading(what):
    """A parser whose unforeseen failures are BadData about `what`."""
    def decorate(parse):
        @functools.wraps(parse)
        def checked(*args, **kwargs):
            try:
                return parse(*args, **kwargs)
            except BadData:
                raise
            except UNREADABLE as exc:
                raise BadData(f"{what} could not be read ({type(exc).__name__})") from None
        return checked
    return decorate


@reading("an account")
def parse_account(item):
    item = fields.mapping(item, "an account")
    name = fields.name(item.get("name"), "accounts/", 100, "an account")
    what = f"account {name}"
    return name, {"account_name": fields.text(item.get("accountName"), 255, f"{what}: name"),
                  "type": fields.text(item.get("type"), 30, f"{what}: type"),
                  "role": fields.text(item.get("role"), 30, f"{what}: role")}


@reading("a location")
def parse_location(item):
    item = fields.mapping(item, "a location")
    name = fields.name(item.get("name"), "locations/", 100, "a location")
    what = f"location {name}"
    address = fields.mapping(item.get("storefrontAddress"), f"{what}: address")
    lines = fields.text_list(address.get("addressLines"), f"{what}: address")
    parts = [*lines, fields.text(address.get("locality"), 0, f"{what}: locality"),
             fields.text(address.get("postalCode"), 0, f"{what}: postal code")]
    phones = fields.mapping(item.get("phoneNumbers"), f"{what}: phone numbers")
    categories = fields.mapping(item.get("categories"), f"{what}: categories")
    primary = fields.mapping(categories.get("primaryCategory"), f"{what}: category")
    metadata = fields.mapping(item.get("metadata"), f"{what}: metadata")
    return name, {
        "title": fields.text(item.get("title"), 255, f"{what}: title"),
        "store_code": fields.text(item.get("storeCode"), 100, f"{what}: store code"),
        "address": ", ".join(p for p in parts if p)[:500],
        "website": fields.url(item.get("websiteUri"), 500, f"{what}: website"),
        "phone": fields.text(phones.get("primaryPhone"), 50, f"{what}: phone"),
        "category": fields.text(primary.get("displayName"), 255, f"{what}: category"),
        "maps_uri": fields.url(metadata.get("mapsUri"), 500, f"{what}: maps link"),
    }


@reading("the metrics answer")
def parse_metrics(body, start, end) -> dict:
    """{(metric, day): value} from fetchMultiDailyMetricsTimeSeries; an omitted value is 0."""
    body = fields.mapping(body, "the answer")
    rows = {}
    for group in fields.items(body.get("multiDailyMetricTimeSeries"), "the series"):
        group = fields.mapping(group, "a series group")
        for series in fields.items(group.get("dailyMetricTimeSeries"), "the series"):
            series = fields.mapping(series, "a series")
            metric = series.get("dailyMetric")
            if metric not in METRICS:
                continue  # not one we asked for
            values = fields.mapping(series.get("timeSeries"), f"{metric}").get("datedValues")
            for dated in fields.items(values, f"{metric} values"):
                day, value = _dated(dated, metric)
                if start <= day <= end:
                    rows[(metric, day)] = value
    return rows


def _dated(dated, metric):
    """(day, value) of one dated value: the documented shape read directly (a first sync reads
    630 a location), anything else through the field checks, which name what is wrong."""
    try:
        when = dated["date"]
        day = date(when["year"], when["month"], when["day"])
        value = dated.get("value")
        if value is None:
            return day, 0
        if type(value) is str and value.isdigit() and len(value) <= 12:
            return day, int(value)
    except (KeyError, TypeError, ValueError, AttributeError):
        pass
    dated = fields.mapping(dated, f"a {metric} value")
    day = fields.day(dated.get("date"), f"a {metric} date")
    return day, fields.count(dated.get("value"), f"{metric} on {day}")


@reading("a review")
def parse_review(item):
    item = fields.mapping(item, "a review")
    review_id = fields.identifier(item.get("reviewId"), 255, "a review")
    what = f"review {review_id}"
    reviewer = fields.mapping(item.get("reviewer"), f"{what}: reviewer")
    reply = fields.mapping(item.get("reviewReply"), f"{what}: reply")
    return review_id, {
        "reviewer_name": fields.text(reviewer.get("displayName"), 255, f"{what}: reviewer"),
        "star_rating": fields.stars(item.get("starRating")),
        "comment": fields.text(item.get("comment"), 20_000, f"{what}: comment"),
        "create_time": fields.timestamp(item.get("createTime"), f"{what}: createTime"),
        "update_time": fields.timestamp(item.get("updateTime"), f"{what}: updateTime"),
        "reply_comment": fields.text(reply.get("comment"), 20_000, f"{what}: reply"),
        "reply_update_time": fields.timestamp(reply.get("updateTime"), f"{what}: reply time"),
    }


