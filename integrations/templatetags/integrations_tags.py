"""Template filters for the integrations pages (and the pages of consumer apps):
`{% load integrations_tags %}`."""

from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext, npgettext_lazy

register = template.Library()

# Django's own words for a span of time, but translated for use after "ago" and "in": some
# languages inflect them there (German: "vor 2 Tagen", not "vor 2 Tage").
TIME_STRINGS = {
    "year": npgettext_lazy("time span", "%(num)d year", "%(num)d years", "num"),
    "month": npgettext_lazy("time span", "%(num)d month", "%(num)d months", "num"),
    "week": npgettext_lazy("time span", "%(num)d week", "%(num)d weeks", "num"),
    "day": npgettext_lazy("time span", "%(num)d day", "%(num)d days", "num"),
    "hour": npgettext_lazy("time span", "%(num)d hour", "%(num)d hours", "num"),
    "minute": npgettext_lazy("time span", "%(num)d minute", "%(num)d minutes", "num"),
}


@register.filter
def ago(value):
    """ "just now" under a minute, else "3 minutes ago" (never "0 minutes ago"), in the active
    language."""
    if not value:
        return ""
    if timezone.now() - value < timedelta(minutes=1):
        return gettext("just now")
    return gettext("{timesince} ago").format(
        timesince=timesince(value, time_strings=TIME_STRINGS))


@register.filter
def from_now(value):
    """ "in under a minute", else "in 42 minutes" (never "in 0 minutes"), in the active
    language."""
    if not value:
        return ""
    if value - timezone.now() < timedelta(minutes=1):
        return gettext("in under a minute")
    return gettext("in {timeuntil}").format(
        timeuntil=timeuntil(value, time_strings=TIME_STRINGS))
