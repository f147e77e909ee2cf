"""Deterministic Google Business Profile data per sandbox user.

Everything is derived from the username with a hash, so the same user always sees the same
accounts, locations, metrics and reviews, and tests can compute exact expected numbers by calling
these functions.

A user named `agency` has the large-account fixture: one account with 1,000 locations and 20
reviews each (for the demo and the benchmarks); `agency-300` has 300 locations, `agency-300x5`
300 locations with 5 reviews each (up to 20,000 locations, 200 reviews each).
"""

import functools
import hashlib
import re
from datetime import date, datetime, timedelta, timezone

METRICS = [
    "BUSINESS_IMPRESSIONS_DESKTOP_MAPS",
    "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
    "BUSINESS_IMPRESSIONS_MOBILE_MAPS",
    "BUSINESS_IMPRESSIONS_MOBILE_SEARCH",
    "BUSINESS_CONVERSATIONS",
    "BUSINESS_DIRECTION_REQUESTS",
    "CALL_CLICKS",
    "WEBSITE_CLICKS",
    "BUSINESS_BOOKINGS",
    "BUSINESS_FOOD_ORDERS",
    "BUSINESS_FOOD_MENU_CLICKS",
]
# Locations per account, in account order: two groups with locations, a personal account without.
LOCATIONS_PER_ACCOUNT = [7, 2, 0]
ACCOUNT_TYPES = ["LOCATION_GROUP", "LOCATION_GROUP", "PERSONAL"]
STARS = ["ONE", "TWO", "THREE", "FOUR", "FIVE"]
REVIEW_EPOCH = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
NAMES = ["Ana", "Ben", "Chloe", "Dev", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kemal", "Lea"]
COMMENTS = [
    "Great service, friendly staff.",
    "Decent, but the wait was long.",
    "Best croissants in town!",
    "Not what I expected.",
    "Clean, quick, and cheap.",
    "Would come back.",
]
TOWNS = ["Springfield", "Riverton", "Lakeside", "Hill Valley", "Fairview", "Oakdale", "Maplewood"]
AGENCY = re.compile(r"^agency(?:-(\d{1,5})(?:x(\d{1,3}))?)?$")
LARGE_DEFAULT = (1000, 20)


def large(username: str) -> tuple[int, int] | None:
    """(locations, reviews per location) of the large-account fixture, or None."""
    match = AGENCY.match(username)
    if not match:
        return None
    return (min(int(match.group(1) or LARGE_DEFAULT[0]), 20_000),
            min(int(match.group(2) or LARGE_DEFAULT[1]), 200))


def _h(*parts) -> int:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def subject_id(username: str) -> str:
    """A stable numeric `sub`, like Google's."""
    return str(10**20 + _h("sub", username) % 10**20)


def accounts(username: str) -> list[dict]:
    return list(_accounts(username))


@functools.lru_cache(maxsize=256)
def _accounts(username: str) -> tuple[dict, ...]:
    result = []
    for i, kind in enumerate(ACCOUNT_TYPES[:1] if large(username) else ACCOUNT_TYPES):
        account_id = str(10**17 + _h("account", username, i) % 10**17)
        result.append(
            {
                "name": f"accounts/{account_id}",
                "accountName": f"{username.title()}'s {['Bakeries', 'Cafés', 'Personal'][i]}",
                "type": kind,
                "role": "PRIMARY_OWNER" if i == 0 else "OWNER",
                "verificationState": "VERIFIED",
                "vettedState": "NOT_VETTED",
                "permissionLevel": "OWNER_LEVEL",
            }
        )
    return tuple(result)


def account_ids(username: str) -> list[str]:
    return [a["name"].split("/", 1)[1] for a in _accounts(username)]


def locations(username: str, account_id: str) -> list[dict]:
    return list(_locations(username, account_id))


@functools.lru_cache(maxsize=256)
def _locations(username: str, account_id: str) -> tuple[dict, ...]:
    ids = account_ids(username)
    if account_id not in ids:
        return ()
    index = ids.index(account_id)
    count = large(username)[0] if large(username) else LOCATIONS_PER_ACCOUNT[index]
    result = []
    for j in range(count):
        location_id = str(10**18 + _h("location", username, index, j) % 10**18)
        town = TOWNS[_h("town", location_id) % len(TOWNS)]
        result.append(
            {
                "name": f"locations/{location_id}",
                "title": f"{['Bakery', 'Café'][index]} {town} #{j + 1}",
                "storeCode": f"S{index}{j:03d}",
                "storefrontAddress": {
                    "regionCode": "US",
                    "postalCode": f"{10000 + _h('zip', location_id) % 89999}",
                    "locality": town,
                    "addressLines": [f"{1 + _h('street', location_id) % 999} Main Street"],
                },
                "websiteUri": f"https://example.com/{location_id}",
                "phoneNumbers": {"primaryPhone": f"(555) 01{_h('phone', location_id) % 100:02d}"},
                "categories": {
                    "primaryCategory": {
                        "name": ["categories/gcid:bakery", "categories/gcid:cafe"][index],
                        "displayName": ["Bakery", "Café"][index],
                    }
                },
                "metadata": {
                    "mapsUri": f"https://maps.google.com/maps?cid={location_id}",
                    "placeId": f"ChIJ{location_id}",
                },
                "openInfo": {"status": "OPEN"},
            }
        )
    return tuple(result)


def location_owner(username: str, location_id: str) -> str | None:
    return _owners(username).get(location_id)


@functools.lru_cache(maxsize=256)
def _owners(username: str) -> dict:
    return {loc["name"].split("/", 1)[1]: account_id for account_id in account_ids(username)
            for loc in _locations(username, account_id)}


def metric_value(location_id: str, metric: str, day: date) -> int:
    """The value Google would report; about one day in seven is zero (and omitted on the wire)."""
    return values(location_id, metric, day, 1)[0]


def daily_values(location_id: str, metric: str, start: date, end: date) -> list[tuple[date, int]]:
    days = (end - start).days + 1
    return list(zip((start + timedelta(d) for d in range(days)),
                    values(location_id, metric, start, days)))


def values(location_id: str, metric: str, start: date, days: int) -> list[int]:
    """The values of `days` days from `start` on (daily_values without the dates)."""
    seed = _series(location_id, metric) + start.toordinal()
    impressions = metric.startswith("BUSINESS_IMPRESSIONS")
    return [_value(_mix(seed + d), impressions) for d in range(days)]


# A metric's daily values: one hash per series, then a cheap integer mix per day (a hash per
# value cost most of the sandbox's CPU when a sync backfills 1,000 locations).
MASK64 = (1 << 64) - 1


@functools.lru_cache(maxsize=65536)
def _series(location_id: str, metric: str) -> int:
    return _h("metric", location_id, metric)


def _mix(x: int) -> int:
    """splitmix64's finaliser: well-spread 64 bits from consecutive integers."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def _value(h: int, impressions: bool) -> int:
    if h % 7 == 0:
        return 0
    return 20 + h % 280 if impressions else h % 16


def reviews(username: str, location_id: str) -> list[dict]:
    return list(_reviews(username, location_id))


@functools.lru_cache(maxsize=8192)
def _reviews(username: str, location_id: str) -> tuple[dict, ...]:
    fixture = large(username)
    count = fixture[1] if fixture else [23, 4, 11, 0, 7, 2, 15][_h("reviews", location_id) % 7]
    account_id = location_owner(username, location_id)
    result = []
    for k in range(count):
        review_id = f"r{_h('review', location_id, k) % 10**12:012d}"
        created = REVIEW_EPOCH - timedelta(days=3 * k, hours=_h("hour", review_id) % 12)
        stars = 1 + _h("stars", review_id) % 5
        review = {
            "reviewId": review_id,
            "name": f"accounts/{account_id}/locations/{location_id}/reviews/{review_id}",
            "reviewer": {
                "displayName": NAMES[_h("name", review_id) % len(NAMES)],
                "profilePhotoUrl": "",
                "isAnonymous": False,
            },
            "starRating": STARS[stars - 1],
            "comment": COMMENTS[_h("comment", review_id) % len(COMMENTS)],
            "createTime": created.isoformat().replace("+00:00", "Z"),
            "updateTime": created.isoformat().replace("+00:00", "Z"),
        }
        if k % 2 == 0:
            replied = created + timedelta(days=1)
            review["reviewReply"] = {
                "comment": f"Thank you, {review['reviewer']['displayName']}!",
                "updateTime": replied.isoformat().replace("+00:00", "Z"),
            }
        result.append(review)
    return tuple(result)


def stamp(moment: datetime) -> str:
    """An RFC 3339 timestamp as Google writes one, to the second ("2026-11-01T12:00:00Z"): the
    generated reviews' format, so the answers sort by their updateTime text."""
    moment = moment.astimezone(timezone.utc).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def review(username: str, location_id: str, review_id: str) -> dict | None:
    """One generated review of a location of this user, or None."""
    return next((r for r in _reviews(username, location_id) if r["reviewId"] == review_id), None)


def with_replies(reviews: list[dict], replies: dict) -> list[dict]:
    """The reviews with the replies written through the API over the generated ones.

    `replies`: {review id: (comment, update time, deleted)}. A written reply replaces the
    review's `reviewReply`, a deleted one removes it; either moves the review's `updateTime` on
    to the reply's time (the review resource changed), so a reading newest first sees it.
    The generated reviews are shared (cached): changed ones are copies.
    """
    if not replies:
        return list(reviews)
    result = []
    for item in reviews:
        reply = replies.get(item["reviewId"])
        if reply is None:
            result.append(item)
            continue
        comment, updated, deleted = reply
        item = dict(item)
        if deleted:
            item.pop("reviewReply", None)
        else:
            item["reviewReply"] = {"comment": comment, "updateTime": stamp(updated)}
        item["updateTime"] = max(item["updateTime"], stamp(updated))
        result.append(item)
    return result
