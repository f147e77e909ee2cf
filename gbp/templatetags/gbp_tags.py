"""Filters of the Business Profile pages: counts and changes in the page's language."""

from django import template
from django.utils.translation import gettext

from ..charts import grouped

register = template.Library()


@register.filter
def count(value):
    """A count with its thousands grouped in the page's language ("1,500", "1.500")."""
    return grouped(value or 0)


@register.filter
def change(value):
    """A change in percent, signed ("+12%", "−3%"), or a dash when there was nothing before."""
    if value is None:
        return "–"
    rounded = round(value)
    if rounded == 0:
        return gettext("±0%")
    sign = "+" if rounded > 0 else "−"
    return f"{sign}{grouped(abs(rounded))}%"


@register.filter
def change_class(value):
    """The change's colour: up, down, or flat/unknown."""
    if value is None or round(value) == 0:
        return "flat"
    return "up" if value > 0 else "down"


@register.simple_tag(takes_context=True)
def query(context, **changes):
    """The current page's query string with some parameters changed (None drops one)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def get_draft(drafts, pk):
    """The (text, error) kept for a review whose reply was not sent, or None."""
    return (drafts or {}).get(pk)
