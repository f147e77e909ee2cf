"""Who calls the JSON API, and how often they may do what costs.

- A session (the site's own login cookie), with Django's CSRF check on every state change
  (ninja's `SessionAuth`: the `X-CSRFToken` header, as Django's middleware takes it).
- Or whatever the host's adapter accepts (`DefaultAdapter.api_authenticate`: a bearer token the
  host issues); none by default.

Per-user throttles (INTEGRATIONS_API_THROTTLE_RATES, read on every request) on the actions that
cost: a forced refresh, a connect start, a Sync now.
"""

from django.core.cache import caches
from ninja.security import SessionAuth
from ninja.security.http import HttpBearer
from ninja.throttling import SimpleRateThrottle

from ..adapter import get_adapter
from ..conf import settings


class AdapterBearer(HttpBearer):
    """`Authorization: Bearer <token>`, checked by the host's adapter."""

    def authenticate(self, request, token):
        user = get_adapter().api_authenticate(request)
        if user is None or not getattr(user, "is_active", True):
            return None
        request.user = user  # the owner methods answer for it as for a session
        return user


class Session(SessionAuth):
    """The site's session, CSRF-checked on state changes (ninja checks before it reads the
    session cookie)."""

    def __init__(self):
        super().__init__(csrf=True)


# Bearer first: a request carrying the host's credential needs no CSRF token.
AUTH = [AdapterBearer(), Session()]


class UserThrottle(SimpleRateThrottle):
    """`scope`'s rate of INTEGRATIONS_API_THROTTLE_RATES, per user (and per scope), counted in
    the cache INTEGRATIONS_API_THROTTLE_CACHE names."""

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__(self.current_rate())

    @property
    def cache(self):
        return caches[settings.INTEGRATIONS_API_THROTTLE_CACHE]

    def current_rate(self) -> str:
        return (settings.INTEGRATIONS_API_THROTTLE_RATES or {}).get(self.scope) or "1000/s"

    def allow_request(self, request) -> bool:
        rate = self.current_rate()
        if rate != self.rate:  # the setting changed (a test, a reload)
            self.rate = rate
            self.num_requests, self.duration = self.parse_rate(rate)
        return super().allow_request(request)

    def get_cache_key(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None  # no user, no throttle: authentication refuses it anyway
        return f"integrations-api-throttle:{self.scope}:{user.pk}"


def throttle(scope: str) -> list:
    return [UserThrottle(scope)]
