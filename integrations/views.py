"""The integrations page, the connect flow (connect, callback), disconnect and health.

Function-based views; someone else's integration is a 404; every state change is a POST.
"""

import logging
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import consumers, display, health as health_report, metrics as fleet_metrics
from . import flow, oauth_client, oauth_state, tokens
from .adapter import ACTIONS, get_adapter, integration_or_404
from .conf import settings
from .models import Integration, IntegrationEvent
from .providers import registry
from .security import page_headers

log = logging.getLogger(__name__)

# An integration id as a query parameter: ASCII digits that fit a 64-bit primary key (str.isdigit
# also accepts "²" and "٣", which int() or the database then reject with a 500).
INTEGRATION_ID = re.compile(r"[0-9]{1,18}")


def _provider_or_404(provider_id):
    try:
        provider = registry.find(provider_id)
    except registry.ProviderConfigError:
        log.exception("provider %s is misdeclared in INTEGRATIONS_PROVIDERS", provider_id)
        raise Http404("Unknown provider") from None
    if provider is None:
        raise Http404("Unknown provider")
    return provider


# Shared with the JSON API (integrations.flow); the names the views always had.
redirect_uri = flow.redirect_uri
_safe_next = flow.safe_next


def _connect_error(request, provider, title, message, *, status, code, started=None,
                   missing=()):
    """The page a failed connect ends on: plain words only. What the provider said (its error
    code and text) goes to the log, never to this page. A flow the API started (`started`, its
    state) goes back to its frontend instead, with `outcome=error&code=<code>`."""
    if started and started.get("api_return"):
        return redirect(flow.outcome_url(started["api_return"], outcome="error", code=code))
    context = {"provider": provider, "title": title, "message": message, "missing": missing}
    return render(request, "integrations/connect_error.html", context, status=status)


def _provider_words(value, limit=200) -> str:
    """A provider's error code or text from the callback's query, for the log: one line, short,
    quoted by the caller with %r."""
    return " ".join(str(value).split())[:limit]


def _last_sync_code():
    """The error code of each integration's latest sync event, in the same query (the event
    index on (integration, -created_at) serves it)."""
    events = IntegrationEvent.objects.filter(
        integration=OuterRef("pk"), kind=IntegrationEvent.Kind.SYNC).order_by("-created_at", "-id")
    return Subquery(events.values("error_code")[:1])


def _last_mail_code():
    """The error code of each integration's latest mailbox login event (integrations.mail)."""
    events = IntegrationEvent.objects.filter(
        integration=OuterRef("pk"), kind=IntegrationEvent.Kind.MAIL).order_by("-created_at", "-id")
    return Subquery(events.values("error_code")[:1])


@page_headers
@never_cache
@login_required
@require_GET
def index(request):
    adapter = get_adapter()
    integrations = list(
        adapter.integrations_for(request).select_related("credential", "connected_by")
        .annotate(last_sync_code=_last_sync_code(), last_mail_code=_last_mail_code())
        .order_by("provider", "display_name")
    )
    providers = registry.all_providers()
    by_id = {p.id: p for p in providers}
    for integration in integrations:
        provider = by_id.get(integration.provider)
        integration.provider_name = provider.name if provider else integration.provider
        integration.problem = display.problem(integration, integration.provider_name)
        integration.sync_failing = display.sync_failing(integration)
        integration.mail_refused = display.mail_refused(integration)
        integration.health = display.token_health(integration)
        cred = getattr(integration, "credential", None)
        integration.scope_labels = [(display.scope_label(s), s) for s in (
            cred.scopes if cred and isinstance(cred.scopes, list) else []) if isinstance(s, str)]
        consumer = consumers.for_provider(provider)
        integration.detail_url = consumer.detail_url(integration) if (
            consumer and consumer.detail_url) else ""
        integration.sync_url = consumer.sync_url(integration) if (
            consumer and consumer.sync_url) else ""
        integration.syncs = bool(integration.sync_url)
        integration.connectable = bool(provider and provider.configured)
        # What this request may do to it (the host's adapter): the page offers only that.
        integration.may = {action: adapter.can_act(request, integration, action)
                           for action in ACTIONS}
    connected = {i.provider for i in integrations if i.status != Integration.Status.DISCONNECTED}
    owners = list(adapter.owners_for(request.user))
    current = adapter.owner_for(request)
    context = {
        # Several owners (teams) to act for: the page says whose and offers the others.
        "owner_choices": [(o.pk, adapter.owner_display(o)) for o in owners] if len(owners) > 1
        else [],
        "owner": current.pk if current is not None else None,
        "owner_name": adapter.owner_display(current) if current is not None else "",
        "integrations": integrations,
        "available": [p for p in providers if p.configured and adapter.can_connect(request, p)],
        "connected_providers": connected,
        "unconfigured": [p for p in providers if not p.configured],
    }
    return render(request, "integrations/index.html", context)


@page_headers
@never_cache
@login_required
@require_GET
def connect(request, provider_id):
    provider = _provider_or_404(provider_id)
    if not provider.configured:
        messages.error(request, gettext("{provider} is not available yet: an operator must "
                                        "configure it first.").format(provider=provider.name))
        return redirect("integrations:index")
    adapter = get_adapter()
    integration_id = request.GET.get("integration")
    if integration_id:
        if not INTEGRATION_ID.fullmatch(integration_id):
            raise Http404("Unknown integration")
        integration = integration_or_404(request, int(integration_id), "reconnect")
        integration_id, owner = integration.pk, integration.owner
    else:
        owner = adapter.owner_for(request)
        if owner is None or not adapter.can_connect(request, provider):
            messages.error(request, gettext("You cannot connect {provider} here.").format(
                provider=provider.name))
            return redirect("integrations:index")
    return redirect(flow.start(request, provider, owner=owner, integration_id=integration_id,
                               next_url=_safe_next(request, request.GET.get("next", ""))))


@page_headers
@never_cache
@login_required
@require_GET
def callback(request, provider_id):
    provider = _provider_or_404(provider_id)
    try:  # the state goes first: popped whatever happens next
        started = oauth_state.pop_state(request, request.GET.get("state", ""), provider.id)
    except oauth_state.StateError as exc:
        # No flow of ours (not even an API one: the state is what says so): our page.
        log.info("callback for %s rejected: %s", provider.id, exc)  # in English, for operators
        return _connect_error(request, provider, gettext("This sign-in link is not valid"),
                              gettext(str(exc)), status=exc.status, code="invalid_state")
    done = started.get("next") or reverse("integrations:index")
    api_return = started.get("api_return")

    error = request.GET.get("error")
    if error == "access_denied":
        if api_return:
            return redirect(flow.outcome_url(api_return, outcome="declined"))
        messages.info(request, gettext("You declined to connect {provider}. Nothing was "
                                       "changed.").format(provider=provider.name))
        return redirect(done)
    if error or not request.GET.get("code"):
        if error:
            log.warning("callback from %s carried error %r: %r", provider.id, _provider_words(
                error, 64), _provider_words(request.GET.get("error_description", "")))
        what = (gettext("{provider} answered with an error. Nothing was changed; please try "
                        "again.") if error else
                gettext("{provider} sent no code. Nothing was changed; please try again."))
        return _connect_error(request, provider, gettext("The connection did not go through"),
                              what.format(provider=provider.name), status=400,
                              code="provider_error" if error else "no_code", started=started)

    try:
        token = oauth_client.exchange_code(provider, request.GET["code"], redirect_uri(provider),
                                           started["verifier"])
    except oauth_client.OAuthError as exc:
        # The provider's code and text (scrubbed by the client) for operators; plain words for
        # the user.
        log.warning("code exchange with %s failed (%s): %s: %s", provider.id, exc.kind, exc.code,
                    exc.message)
        return _connect_error(
            request, provider, gettext("The connection did not go through"),
            gettext("{provider} did not give us a usable answer. Nothing was stored; please try "
                    "again.").format(provider=provider.name),
            status=400 if exc.kind != "transient" else 502, code="exchange_failed",
            started=started)

    if not token.refresh_token:
        return _connect_error(
            request, provider, gettext("Lasting access was not granted"),
            gettext("{provider} did not grant offline access, so the connection would stop "
                    "working within the hour. Nothing was stored. Please try again and approve "
                    "every requested permission on the consent screen.").format(
                provider=provider.name), status=400, code="no_offline_access", started=started)

    granted = token.scopes if token.scopes is not None else list(provider.scopes)
    if missing := provider.missing_scopes(granted):
        return _connect_error(
            request, provider, gettext("Some permissions were not granted"),
            gettext("{provider} needs these permissions to work; nothing was stored. Please try "
                    "again and leave them ticked on the consent screen.").format(
                provider=provider.name), status=400, missing=missing, code="missing_scopes",
            started=started)

    try:
        identity = oauth_client.identity(provider, token)
    except oauth_client.OAuthError as exc:
        log.warning("userinfo from %s failed (%s): %s: %s", provider.id, exc.kind, exc.code,
                    exc.message)
        return _connect_error(
            request, provider, gettext("The connection did not go through"),
            gettext("We could not read which {provider} account this is. Nothing was stored; "
                    "please try again.").format(provider=provider.name), status=502,
            code="identity_failed", started=started)

    adapter = get_adapter()
    owner = next((o for o in adapter.owners_for(request.user)
                  if str(o.pk) == started.get("owner")), None)
    if owner is None:  # no longer a member of the team the connection was started for
        return _connect_error(
            request, provider, gettext("The connection did not go through"),
            gettext("You can no longer connect accounts for the team you started this for. "
                    "Nothing was stored."), status=403, code="owner_refused", started=started)
    integration, created = tokens.store_grant(owner, provider, identity, token, granted,
                                              user=request.user)
    wanted = started.get("integration")
    other_account = bool(wanted and wanted != integration.pk)
    if api_return:  # the frontend words the outcome itself
        return redirect(flow.outcome_url(
            api_return, outcome="connected" if created else "reconnected",
            integration=integration.pk, other_account=1 if other_account else None))
    if other_account:
        messages.warning(request, gettext("You connected {account}, a different account than "
                                          "the one that needed reconnecting.").format(
            account=integration.display_name))
    done_words = (gettext("Connected {provider}: {account}.") if created
                  else gettext("Reconnected {provider}: {account}."))
    messages.success(request, done_words.format(provider=provider.name,
                                                account=integration.display_name))
    return redirect(adapter.connect_redirect_url(request, integration, created,
                                                 started.get("next")))


@page_headers
@login_required
@require_POST
def disconnect(request, integration_id):
    integration = integration_or_404(request, integration_id, "disconnect")
    revoked = tokens.disconnect(integration, user=request.user)
    name = registry.name_of(integration.provider)
    words = (gettext("Disconnected {provider}: {account}.") if revoked else
             gettext("Disconnected {provider}: {account} (tokens deleted here; the provider was "
                     "not asked to revoke them)."))
    messages.success(request, words.format(provider=name, account=integration.display_name))
    return redirect("integrations:index")


@page_headers
@login_required
@require_POST
def remove(request, integration_id):
    """Delete a disconnected integration with its history and the data synced from it (the
    consumers' rows cascade). A connected one must be disconnected first (its access revoked)."""
    integration = integration_or_404(request, integration_id, "remove")
    name = registry.name_of(integration.provider)
    if integration.status != Integration.Status.DISCONNECTED:
        messages.error(request, gettext("Disconnect {provider}: {account} before removing "
                                        "it.").format(provider=name,
                                                      account=integration.display_name))
        return redirect("integrations:index")
    label = integration.display_name or integration.external_id
    pk, provider_id = integration.pk, integration.provider
    integration.delete()
    log.info("integration %s (%s) removed by its owner", pk, provider_id)
    messages.success(request, gettext("Removed {provider}: {account} and the data synced from "
                                      "it.").format(provider=name, account=label))
    return redirect("integrations:index")


def _monitor_allowed(request) -> bool:
    """A staff session, or `Authorization: Bearer <INTEGRATIONS_HEALTH_TOKEN>`."""
    expected = settings.INTEGRATIONS_HEALTH_TOKEN
    given = request.headers.get("Authorization", "")
    bearer_ok = bool(expected) and constant_time_compare(given, f"Bearer {expected}")
    return bearer_ok or (request.user.is_authenticated and request.user.is_staff)


@page_headers
@never_cache
@require_GET
def health(request):
    """For monitors: counts and times as JSON."""
    if not _monitor_allowed(request):
        return JsonResponse({"error": "forbidden"}, status=403)
    return JsonResponse(health_report.report())


@page_headers
@never_cache
@require_GET
def metrics(request):
    """Prometheus exposition (text format 0.0.4), behind the same rules as health."""
    if not _monitor_allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(fleet_metrics.exposition(),
                        content_type="text/plain; version=0.0.4; charset=utf-8")


@page_headers
@login_required
@require_POST
def choose_owner(request):
    """Act for another of the user's owners (a team) from now on (the integrations page's
    switcher); an owner they may not act for is a 404."""
    if not get_adapter().select_owner(request, request.POST.get("owner", "")):
        raise Http404("Unknown owner")
    return redirect(_safe_next(request, request.POST.get("next", "")) or "integrations:index")
