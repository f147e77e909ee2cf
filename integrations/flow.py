"""The connect flow's two ends that the pages and the JSON API share: starting a flow (its
one-time state and the provider's authorize URL) and, for a flow the API started, the frontend
URL the callback sends the browser back to, with the outcome in its query.

    url = start(request, provider, owner=owner)                       # the pages' connect
    url = start(request, provider, owner=owner, api_return=target)    # the API's connect
"""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from . import oauth_client, oauth_state
from .conf import settings

# What the callback puts in the frontend URL's query for an API flow (each value is one of ours,
# never a provider's text): `outcome` connected / reconnected / declined / error, the
# integration's id, the error's code.
OUTCOME_KEYS = ("outcome", "integration", "code", "other_account")


def redirect_uri(provider) -> str:
    """Built from the configured base URL, never from the request's Host header."""
    return settings.INTEGRATIONS_BASE_URL + reverse("integrations:callback", args=[provider.id])


def safe_next(request, candidate) -> str:
    """`candidate` when it is a path on this site, else ""."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ) and candidate.startswith("/") and not candidate.startswith("//"):
        return candidate
    return ""


class BadReturnTo(ValueError):
    """A `return_to` that is neither a path on this site nor under the host's frontend URL."""


def api_return_target(request, return_to: str = "") -> str:
    """Where the callback of a flow the API starts returns the browser: `return_to` when it is a
    path on this site or a URL on the origin of INTEGRATIONS_API_RETURN_URL (the host's
    frontend), else INTEGRATIONS_API_RETURN_URL, else the integrations page."""
    frontend = settings.INTEGRATIONS_API_RETURN_URL or ""
    if return_to:
        if safe_next(request, return_to) or (frontend and _same_origin(return_to, frontend)):
            return return_to
        raise BadReturnTo(return_to)
    return frontend or reverse("integrations:index")


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return bool(a.scheme in ("http", "https") and a.netloc) and (
        (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower()))


def start(request, provider, *, owner, integration_id=None, next_url="", api_return="") -> str:
    """A new flow for `owner` (a reconnect of `integration_id` when given): its state kept in
    the session, the provider's authorize URL returned. `api_return`: the flow was started
    through the API, and its callback returns the browser there with the outcome."""
    verifier = oauth_client.new_code_verifier() if provider.pkce else None
    state = oauth_state.new_state(
        request, provider.id, code_verifier=verifier, next_url=next_url,
        integration_id=integration_id, owner_id=owner.pk, api_return=api_return)
    return oauth_client.authorization_url(provider, redirect_uri(provider), state, verifier)


def outcome_url(target: str, **outcome) -> str:
    """`target` with the outcome in its query (the keys of OUTCOME_KEYS replaced, the rest of
    its query and its fragment kept: a frontend's own route survives)."""
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in OUTCOME_KEYS]
    query += [(k, str(v)) for k, v in outcome.items() if v not in (None, "")]
    return urlunsplit(parts._replace(query=urlencode(query)))
