"""What the sync accepts from Google: every field checked and coerced before it is stored.

Google's answers are data from outside. A field of the wrong type or size fails the one item it
belongs to (an account, a location, a location's metrics, a review) with a clear message, never
a TypeError or an overflowing column: identifiers that do not fit are refused (cutting one could
merge two), display text is cut to its column, numbers are checked for range.
"""

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils.dateparse import parse_datetime

from .client import BadData

STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
_NAME = re.compile(r"^[A-Za-z0-9_\-./:~]+$")


def mapping(value, what) -> dict:
    """A JSON object, or {} when absent."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadData(f"{what} is not an object")
    return value


def items(value, what) -> list:
    """A JSON array, or [] when absent."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadData(f"{what} is not a list")
    return value


def name(value, prefix, max_length, what) -> str:
    """A resource name such as "locations/123": required, of its kind, within its column."""
    if not isinstance(value, str) or not value.startswith(prefix):
        raise BadData(f"{what} has no valid name")
    if len(value) > max_length or not _NAME.match(value):
        raise BadData(f"{what} has a malformed name ({len(value)} characters)")
    return value


def identifier(value, max_length, what) -> str:
    if not isinstance(value, str) or not value or len(value) > max_length or not _NAME.match(value):
        raise BadData(f"{what} has no valid id")
    return value


def text(value, max_length, what) -> str:
    """Display text: absent is "", a number becomes its digits, anything else is refused."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadData(f"{what} is not text")
    value = str(value).replace("\x00", "").strip()
    return value[:max_length] if max_length else value


def text_list(value, what) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadData(f"{what} is not a list")
    return [text(v, 0, what) for v in value]


def url(value, max_length, what) -> str:
    """A web address, kept only if it is http(s) and fits its column."""
    value = text(value, 0, what)
    if not value.startswith(("https://", "http://")) or len(value) > max_length:
        return ""
    return value


def count(value, what, maximum=10**12) -> int:
    """A non-negative integer; Google sends int64 values as strings."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise BadData(f"{what} is not a number")
    try:
        number = int(value) if isinstance(value, (int, str)) else None
    except ValueError:
        number = None
    if number is None or not 0 <= number <= maximum:
        raise BadData(f"{what} is not a number in range")
    return number


def day(value, what) -> date:
    """Google's Date message: {"year": 2026, "month": 11, "day": 3}."""
    value = mapping(value, what)
    try:
        return date(*(int(value[k]) for k in ("year", "month", "day")))
    except (KeyError, TypeError, ValueError):
        raise BadData(f"{what} is not a valid date") from None


def timestamp(value, what):
    """An RFC 3339 timestamp, or None when absent."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise BadData(f"{what} is not a timestamp")
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise BadData(f"{what} is not a timestamp")
    return parsed


def stars(value) -> int:
    """ONE..FIVE as 1..5; anything else (STAR_RATING_UNSPECIFIED) is 0."""
    return STARS.get(value, 0) if isinstance(value, str) else 0


def rating(total_stars: int, rated: int):
    if not rated:
        return None
    return (Decimal(total_stars) / Decimal(rated)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
