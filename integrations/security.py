"""What keeps a page safe and a secret out of sight: the pages' headers and the scrubbing of
every text a provider sends back.

- `page_headers`: a Content-Security-Policy on every response of the apps' views
  (INTEGRATIONS_CONTENT_SECURITY_POLICY): scripts from this site only (no inline script, no
  event handler attributes), no plugins, no framing, forms that post to this site; inline
  styles are allowed, for a host layout's. A response that already carries a policy keeps it,
  and a host that runs its own CSP middleware (django-csp, Django's) sets the policy instead.
- `scrub`: a provider's text without the secrets we sent it, in every form a request carries
  them (some servers echo what they were sent, in error messages above all).
"""

import base64
import functools
from urllib.parse import quote, quote_plus

from django.conf import settings as django_settings

from .conf import settings

HEADER = "Content-Security-Policy"
# A host that runs one of these sets the policy of every page, ours included: it wins.
HOST_CSP_MIDDLEWARE = {"csp.middleware.CSPMiddleware",
                       "django.middleware.csp.ContentSecurityPolicyMiddleware"}


def host_sets_policy() -> bool:
    return any(entry in HOST_CSP_MIDDLEWARE for entry in getattr(django_settings, "MIDDLEWARE", ()))


def page_headers(view):
    """Decorate a view: its response carries INTEGRATIONS_CONTENT_SECURITY_POLICY unless it,
    or the host's CSP middleware, sets one (or the host set the policy to "")."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        policy = settings.INTEGRATIONS_CONTENT_SECURITY_POLICY
        if policy and HEADER not in response and not host_sets_policy():
            response[HEADER] = policy
        return response

    return wrapper


def scrub(text, secrets) -> str:
    """Remove every secret we sent from a provider's text (some servers echo parameters), in
    the forms we sent it: as is and URL-encoded. Scrub before cutting a text short: a secret cut
    in two is no longer found."""
    text = str(text)
    forms = {form for secret in secrets if isinstance(secret, str) and len(secret) >= 4
             for form in (secret, quote(secret, safe=""), quote_plus(secret))}
    for form in sorted(forms, key=len, reverse=True):  # longest first: no partial leftovers
        text = text.replace(form, "[redacted]")
    return text


def client_secrets(provider) -> list[str]:
    """The client secret in every form a request carries it: as is, and inside the HTTP Basic
    credentials (`base64(client_id:client_secret)`, raw or form-encoded as RFC 6749 2.3.1 says)."""
    secret = getattr(provider, "client_secret", "")
    if not secret:
        return []
    pairs = {f"{provider.client_id}:{secret}",
             f"{quote_plus(provider.client_id)}:{quote_plus(secret)}"}
    return [secret, *(base64.b64encode(pair.encode()).decode() for pair in pairs)]
