"""The core's endpoints: providers, owners, integrations, connect and reconnect, disconnect,
remove, refresh now. Every one is scoped through the host's adapter like the pages: another
owner's integration is a 404, a refused action a 403."""

import logging

from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponse
from django.utils.translation import gettext
from ninja import Query, Router

from .. import consumers, display, flow, tokens
from ..adapter import ACTIONS, get_adapter, integration_or_404
from ..models import Integration, IntegrationEvent
from ..providers import registry
from . import schemas
from .auth import throttle
from .errors import AUTH, READ, WRITE, ApiError
from .schemas import IntegrationId, errors

log = logging.getLogger("integrations.api")

router = Router(tags=["integrations"])


def _last_sync_code():
    """The error code of each integration's latest sync event, in the same query."""
    events = IntegrationEvent.objects.filter(
        integration=OuterRef("pk"), kind=IntegrationEvent.Kind.SYNC).order_by("-created_at", "-id")
    return Subquery(events.values("error_code")[:1])


def visible(request):
    """The integrations this request may see, with what their entries read, in one query."""
    return (get_adapter().integrations_for(request).select_related("credential")
            .annotate(last_sync_code=_last_sync_code()))


def describe(request, integration) -> dict:
    """An integration's entry (schemas.Integration): never a token."""
    provider = registry.find(integration.provider)
    name = provider.name if provider else integration.provider
    consumer = consumers.for_provider(provider)
    cred = getattr(integration, "credential", None)
    adapter = get_adapter()
    return {
        "id": integration.pk,
        "provider": integration.provider,
        "provider_name": name,
        "account": integration.display_name or integration.external_id,
        "status": integration.status,
        "status_label": str(integration.get_status_display()),
        "requires_reauth": integration.status == Integration.Status.REAUTH_REQUIRED,
        "reason": display.problem(integration, name) or None,
        "action": display.action(integration),
        "sync_failing": display.sync_failing(integration),
        "expires_at": cred.expires_at if cred else None,
        "last_renewed_at": cred.last_refreshed_at if cred else None,
        "scopes": [s for s in (cred.scopes if cred and isinstance(cred.scopes, list) else [])
                   if isinstance(s, str)],
        "connected_at": integration.created_at,
        "last_sync": {"status": integration.last_sync_status, "at": integration.last_synced_at},
        "offers": {
            "sync": bool(consumer and consumer.api_router and consumer.sync_url),
            "data": bool(consumer and consumer.api_router and consumer.detail_url),
        },
        "may": {action: adapter.can_act(request, integration, action) for action in ACTIONS},
    }


def fresh_entry(request, integration_id):
    """An integration's entry, read again with what it needs (after a change, too)."""
    return describe(request, visible(request).get(pk=integration_id))


@router.get("/providers", response={200: list[schemas.Provider], **errors(AUTH)},
            summary="Providers", url_name="providers")
def providers(request):
    """Every provider on offer: whether an operator configured it, and whether this request may
    connect an account of it."""
    adapter = get_adapter()
    has_owner = adapter.owner_for(request) is not None
    return [{"id": p.id, "name": p.name, "description": gettext(p.description) if p.description
             else "", "configured": p.configured,
             "may_connect": bool(p.configured and has_owner and adapter.can_connect(request, p))}
            for p in registry.all_providers()]


@router.get("/owners", response={200: schemas.Owners, **errors(AUTH)}, summary="Owners",
            url_name="owners")
def owners(request):
    """Whom the user may act for (a team, or themselves), and whom this session acts for."""
    return _owners(request)


def _owners(request):
    adapter = get_adapter()
    current = adapter.owner_for(request)
    return {"current": str(current.pk) if current is not None else None,
            "owners": [{"id": str(o.pk), "name": adapter.owner_display(o)}
                       for o in adapter.owners_for(request.user)]}


@router.post("/owners/current", response={200: schemas.Owners, **errors(WRITE)},
             summary="Act for another owner", url_name="select_owner")
def select_owner(request, payload: schemas.OwnerIn):
    """From now on this session acts for `owner` (one of `owners`); another is a 404."""
    if not get_adapter().select_owner(request, payload.owner):
        raise Http404("Unknown owner")
    return _owners(request)


@router.get("/integrations", response={200: schemas.IntegrationPage, **errors(READ)},
            summary="Integrations", url_name="integrations")
def integrations(request, page: int = Query(1, ge=1, le=schemas.MAX_PAGE),
                 page_size: int = Query(schemas.DEFAULT_PAGE_SIZE, ge=1,
                                        le=schemas.MAX_PAGE_SIZE)):
    """The integrations of the owner this request acts for, a page at a time (by provider, then
    account)."""
    rows = visible(request).order_by("provider", "display_name", "pk")
    start = (page - 1) * page_size
    return {"items": [describe(request, i) for i in rows[start:start + page_size]],
            "count": rows.count(), "page": page, "page_size": page_size}


@router.get("/integrations/{int:integration_id}",
            response={200: schemas.Integration, **errors(READ)}, summary="One integration",
            url_name="integration")
def integration(request, integration_id: int = IntegrationId):
    return fresh_entry(request, integration_or_404(request, integration_id).pk)


def _provider(provider_id):
    try:
        provider = registry.find(provider_id)
    except registry.ProviderConfigError:
        log.exception("provider %s is misdeclared in INTEGRATIONS_PROVIDERS", provider_id)
        provider = None
    if provider is None:
        raise ApiError(404, "unknown_provider", gettext("There is no such provider."))
    if not provider.configured:
        raise ApiError(409, "provider_not_configured", gettext(
            "{provider} is not available yet: an operator must configure it first.").format(
            provider=provider.name))
    return provider


def _return_target(request, return_to):
    try:
        return flow.api_return_target(request, return_to or "")
    except flow.BadReturnTo:
        raise ApiError(422, "invalid_return_to", gettext(
            "return_to must be a path on this site or an address of its frontend.")) from None


@router.post("/integrations/connect", response={200: schemas.Authorize, **errors(WRITE)},
             throttle=throttle("connect"), summary="Start a connect", url_name="connect")
def connect(request, payload: schemas.ConnectIn):
    """The provider's authorize URL for a new connection of the owner this request acts for.
    Send the browser there; the provider's answer comes back to our callback, which sends the
    browser on to `return_to` with `?outcome=connected&integration=ID` (or `reconnected`, when
    the account was connected already; `declined`; `error&code=...`)."""
    provider = _provider(payload.provider)
    adapter = get_adapter()
    owner = adapter.owner_for(request)
    if owner is None or not adapter.can_connect(request, provider):
        raise ApiError(403, "forbidden", gettext("You cannot connect {provider} here.").format(
            provider=provider.name))
    target = _return_target(request, payload.return_to)
    return {"authorize_url": flow.start(request, provider, owner=owner, api_return=target)}


@router.post("/integrations/{int:integration_id}/reconnect",
             response={200: schemas.Authorize, **errors(WRITE)}, throttle=throttle("connect"),
             summary="Start a reconnect", url_name="reconnect")
def reconnect(request, payload: schemas.ReconnectIn, integration_id: int = IntegrationId):
    """The provider's authorize URL to renew this integration's grant; consent to the same
    account makes the same integration active again (same id, history and data kept)."""
    integration = integration_or_404(request, integration_id, "reconnect")
    provider = _provider(integration.provider)
    target = _return_target(request, payload.return_to)
    return {"authorize_url": flow.start(request, provider, owner=integration.owner,
                                        integration_id=integration.pk, api_return=target)}


@router.post("/integrations/{int:integration_id}/disconnect",
             response={200: schemas.Disconnected, **errors(WRITE)}, summary="Disconnect",
             url_name="disconnect")
def disconnect(request, integration_id: int = IntegrationId):
    """Revoke the grant at the provider (best effort; not when another connection shares it)
    and delete the tokens here whatever it says."""
    integration = integration_or_404(request, integration_id, "disconnect")
    revoked = tokens.disconnect(integration, user=request.user)
    return {"revoked": revoked, "integration": fresh_entry(request, integration.pk)}


@router.delete("/integrations/{int:integration_id}", response={204: None, **errors(WRITE)},
               summary="Remove", url_name="remove")
def remove(request, integration_id: int = IntegrationId):
    """Delete a disconnected integration with its history and the data synced from it (a
    connected one is a 409: disconnect it first)."""
    integration = integration_or_404(request, integration_id, "remove")
    if integration.status != Integration.Status.DISCONNECTED:
        raise ApiError(409, "not_disconnected", gettext(
            "Disconnect {provider}: {account} before removing it.").format(
            provider=registry.name_of(integration.provider), account=integration.display_name))
    pk, provider_id = integration.pk, integration.provider
    integration.delete()
    log.info("integration %s (%s) removed by its owner through the API", pk, provider_id)
    return HttpResponse(status=204)


@router.post("/integrations/{int:integration_id}/refresh",
             response={200: schemas.Integration, **{**errors(WRITE), 503: schemas.Error}},
             throttle=throttle("refresh"), summary="Refresh now", url_name="refresh")
def refresh(request, integration_id: int = IntegrationId):
    """Renew the access token now (forced; one refresh at a time per integration whoever asks:
    a caller that arrives during another's refresh gets its result). A grant the provider
    no longer accepts is a 409 with `requires_reauth`; a provider that cannot be reached a 503
    with `retry_after`."""
    integration = integration_or_404(request, integration_id, "refresh")
    if integration.status == Integration.Status.ACTIVE:
        _provider(integration.provider)  # one an operator has not set up (any more): a 409
    tokens.ensure_fresh(integration, force=True)  # its errors: errors.token_error
    return fresh_entry(request, integration.pk)
