"""The sandbox's own pages: the consent screen and the control page for the demo.

Any signed-in user may expire or revoke their own tokens (how a user demos the product);
fault injection and latency, which affect everyone's calls, are for staff only. Its pages carry
a strict Content-Security-Policy of their own (the sandbox imports no product code): no inline
script or style; the consent form may post here and be sent on to the client's redirect URI.
"""

import functools
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST
from oauth2_provider.models import get_application_model
from oauth2_provider.views import AuthorizationView

from . import ops
from .faults import KINDS
from .models import Call, Fault

# Ends with form-action: origins a page's forms may be sent on to are appended to it.
# The product's default (integrations' INTEGRATIONS_CONTENT_SECURITY_POLICY), written out here:
# no inline script; inline styles allowed for a host layout's.
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
          "form-action 'self'")


def with_policy(response, form_action=()):
    """The sandbox's policy on a response that has none yet (one already set wins);
    `form_action`: origins besides this one a form of the page may be sent on to."""
    if "Content-Security-Policy" not in response:
        response["Content-Security-Policy"] = " ".join([POLICY, *sorted(form_action)])
    return response


def page_headers(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        return with_policy(view(request, *args, **kwargs))

    return wrapper


def redirect_origins(client_id) -> set[str]:
    """The origins of a registered client's redirect URIs: where Allow and Deny send the user
    on (a client on another site than the sandbox's)."""
    app = get_application_model().objects.filter(client_id=client_id).only(
        "redirect_uris").first() if client_id else None
    origins = set()
    for uri in (app.redirect_uris.split() if app else []):
        parts = urlsplit(uri)
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.add(f"{parts.scheme}://{parts.netloc}")
    return origins


class ConsentView(AuthorizationView):
    """Google-like consent: the requested scopes with checkboxes (granular consent), Allow/Deny."""

    template_name = "sandbox/consent.html"

    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        client_id = request.GET.get("client_id") or request.POST.get("client_id")
        return with_policy(response, redirect_origins(client_id))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        scopes = context.get("scopes") or []
        descriptions = context.get("scopes_descriptions") or scopes
        # The descriptions are settings (sandbox.conf), marked there and translated here.
        context["scope_items"] = [(scope, gettext(description))
                                  for scope, description in zip(scopes, descriptions)]
        return context

    def post(self, request, *args, **kwargs):
        if "granular" in request.POST:
            post = request.POST.copy()
            chosen = post.getlist("grant_scope")
            requested = post.get("scope", "").split()
            post["scope"] = " ".join(s for s in requested if s == "openid" or s in chosen)
            request.POST = post
        return super().post(request, *args, **kwargs)


def staff_only(view):
    """Staff only: anyone else (signed in, below login_required) gets a 403."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied(gettext("The sandbox's fault controls are for staff."))
        return view(request, *args, **kwargs)

    return wrapper


@page_headers
@login_required
def index(request):
    context = {"max_latency_ms": ops.MAX_LATENCY_MS}
    if request.user.is_staff:
        context.update(faults=Fault.objects.all(), calls=Call.objects.order_by("-id")[:20],
                       endpoints=ops.ENDPOINT_NAMES, kinds=KINDS)
    return render(request, "sandbox/index.html", context)


def _int_or_none(value):
    return int(value) if value not in (None, "") else None


@login_required
@require_POST
@staff_only
def inject(request):
    try:
        fault = ops.inject(
            request.POST.get("endpoint", ""),
            request.POST.get("kind", ""),
            _int_or_none(request.POST.get("times")),
            status=_int_or_none(request.POST.get("status")),
            retry_after=_int_or_none(request.POST.get("retry_after")),
            latency_ms=_int_or_none(request.POST.get("latency_ms")) or 0,
        )
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, gettext("Injected: {fault}").format(fault=fault))
    return redirect("sandbox:index")


@login_required
@require_POST
@staff_only
def clear(request):
    count = ops.clear_faults()
    messages.success(request, ngettext("Cleared {count} fault.", "Cleared {count} faults.",
                                       count).format(count=count))
    return redirect("sandbox:index")


@login_required
@require_POST
def expire(request):
    count = ops.expire_tokens(request.user)
    messages.success(request, ngettext("Expired {count} access token of {user}.",
                                       "Expired {count} access tokens of {user}.",
                                       count).format(count=count, user=request.user))
    return redirect("sandbox:index")


@login_required
@require_POST
def revoke(request):
    count = ops.revoke_grant(request.user)
    messages.success(request, ngettext("Revoked {count} grant of {user}.",
                                       "Revoked {count} grants of {user}.",
                                       count).format(count=count, user=request.user))
    return redirect("sandbox:index")
