"""Template filters for the integrations pages (and the pages of consumer apps):
`{% load integrations_tags %}`."""

from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

register = template.Library()


@register.filter
def ago(value):
    """ "just now" under a minute, else "3 minutes ago" (never "0 minutes ago")."""
    if not value:
        return ""
    if timezone.now() - value < timedelta(minutes=1):
        return "just now"
    return f"{timesince(value)} ago"


@register.filter
def from_now(value):
    """ "in under a minute", else "in 42 minutes" (never "in 0 minutes")."""
    if not value:
        return ""
    if value - timezone.now() < timedelta(minutes=1):
        return "in under a minute"
    return f"in {timeuntil(value)}"
