"""The Business Profile overview of an integration (its locations' totals for a period, the
locations table, history) and "Sync now"; a location's page and the replies are in gbp.pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from integrations import display
from integrations.adapter import ACTIONS, get_adapter, integration_or_404
from integrations.models import Integration
from integrations.providers import registry
from integrations.security import page_headers

from . import overview, state as sync_state
from .charts import grouped, sparkline
from .models import GbpSyncState
from .pages import owner_integrations, requested_period, requested_table
from .providers import is_gbp
from .result import summary_text


def _own_gbp_integration(request, integration_id, action="view"):
    """A Business Profile integration this request may see (through the host's adapter: anyone
    else's is a 404, no existence leak) and may do `action` to."""
    integration = integration_or_404(request, integration_id, action)
    provider = registry.find(integration.provider)
    return integration, provider


TABLE_PAGE = 25


def _overview(request, integrations) -> dict:
    """The overview's period, totals and one page of the locations table, of an integration or
    of a queryset of them (gbp.overview: a bounded number of queries at any number of
    locations)."""
    period = requested_period(request, overview.locations_of(integrations))
    every, table = requested_table(request, integrations, period)
    column, descending = overview.sort_from(request.GET)
    page = Paginator(table, TABLE_PAGE).get_page(request.GET.get("page"))
    overview.add_trends(page.object_list, period)
    for row in page.object_list:
        row.sparkline = sparkline(row.trend, label=gettext("Impressions per day"))
    return {
        "period": period, "periods": overview.PERIODS, "totals": overview.totals(every),
        "locations_count": len(every), "page": page,
        "search": request.GET.get("q", "").strip(),
        "sort": ("-" if descending else "") + column,
        "unanswered": sum(row.unanswered for row in every),
        "columns": [("impressions", overview.SERIES["impressions"][0]),
                    ("change", gettext_lazy("Change")),
                    ("calls", overview.SERIES["calls"][0]),
                    ("website", overview.SERIES["website"][0]),
                    ("directions", overview.SERIES["directions"][0])],
    }


@page_headers
@never_cache
@login_required
@require_GET
def detail(request, integration_id):
    integration, provider = _own_gbp_integration(request, integration_id)
    name = provider.name if provider else integration.provider
    state = GbpSyncState.objects.filter(integration=integration).first()
    context = {
        "integration": integration,
        "provider_name": name,
        "syncs": is_gbp(provider),
        "problem": display.problem(integration, name),
        "sync_failing": display.sync_failing(integration),
        # Reconnect / Connect again: the same link as the integrations page's card.
        "connectable": bool(provider and provider.configured),
        "may": {action: get_adapter().can_act(request, integration, action)
                for action in ACTIONS},
        **_overview(request, integration),
        "events": integration.events.all()[:10],
        "sync": progress(state),
        "synced": synced(integration, state),
    }
    return render(request, "gbp/detail.html", context)


@page_headers
@never_cache
@login_required
@require_GET
def owner_overview(request):
    """Every Business Profile location of the request's owner (an agency's team), across its
    connected accounts, in one overview."""
    integrations = owner_integrations(request)
    context = {
        "integrations": list(integrations.order_by("display_name", "pk")),
        **_overview(request, integrations),
    }
    return render(request, "gbp/owner.html", context)


@page_headers
@login_required
@require_POST
def sync(request, integration_id):
    """Queue a sync (it runs here on the embedded default), unless one is under way or the last
    click was less than GBP_SYNC_NOW_MIN_INTERVAL ago; then say so. Success is reported only
    for a sync that succeeded."""
    from .tasks import queue_down, sync_now

    integration, provider = _own_gbp_integration(request, integration_id, "sync")
    if not is_gbp(provider) or integration.status != Integration.Status.ACTIVE:
        messages.error(request, gettext("This connection cannot be synced right now."))
        return redirect("integrations:index")
    clicked = timezone.now()
    started, state = sync_now(integration.pk, clicked)
    if started is None:
        messages.info(request, not_now(state))
    elif not started:
        messages.error(request, queue_down())
    else:
        _tell_outcome(request, integration, clicked)
    return redirect("gbp:detail", integration.pk)


@page_headers
@never_cache
@login_required
@require_GET
def sync_status(request, integration_id):
    """The sync's progress for the detail page's poll: {"syncing", "text", "done", "total"}."""
    integration, _provider = _own_gbp_integration(request, integration_id)
    now = progress(GbpSyncState.objects.filter(integration=integration).first())
    return JsonResponse({key: now[key] for key in ("syncing", "text", "done", "total")})


def progress(state) -> dict:
    """How the sync is doing, in words of the page's language (the page, its poll, the API)."""
    syncing = sync_state.is_syncing(state)
    done, total = (state.locations_done, state.locations_total) if state else (0, 0)
    counts = {"done": grouped(done), "total": grouped(total)}
    text = ""
    if syncing and state.status == GbpSyncState.Status.PAUSED:
        if state.resume_at:
            text = ngettext(
                "Paused for Google's quota after {done} of {total} location; resumes at {when}.",
                "Paused for Google's quota after {done} of {total} locations; resumes at {when}.",
                total).format(**counts,
                              when=timezone.localtime(state.resume_at).strftime("%H:%M"))
        else:
            text = ngettext(
                "Paused for Google's quota after {done} of {total} location; resumes with the "
                "next sync.",
                "Paused for Google's quota after {done} of {total} locations; resumes with the "
                "next sync.", total).format(**counts)
    elif syncing and state.status == GbpSyncState.Status.QUEUED:
        text = gettext("Sync queued: waiting for a background worker…")
    elif sync_state.is_unclaimed(state):
        text = gettext("No background worker has picked this sync up (queued {ago} ago). It may "
                       "start later; Sync now queues it again.").format(
            ago=timesince(state.requested_at))
    elif syncing and total:
        text = ngettext("Syncing… {done} of {total} location",
                        "Syncing… {done} of {total} locations", total).format(**counts)
    elif syncing:
        text = gettext("Syncing… listing locations")
    elif state and state.status == GbpSyncState.Status.PAUSED:
        text = ngettext("Paused for Google's quota after {done} of {total} location; Sync now "
                        "resumes it.",
                        "Paused for Google's quota after {done} of {total} locations; Sync now "
                        "resumes it.", total).format(**counts)
    return {"syncing": syncing, "text": text, "done": done, "total": total}


def synced(integration, state) -> str:
    """What the last sync did, when it succeeded: worded from its counts in the page's language
    (a sync from before the counts were kept shows the sentence stored with the integration)."""
    if integration.last_sync_status != Integration.SyncStatus.OK:
        return ""
    return summary_text(state.last_summary if state else {}) or integration.last_sync_message


def not_now(state) -> str:
    if sync_state.is_syncing(state):
        return gettext("A sync of this account is already under way; this page shows its "
                       "progress.")
    minutes = max(1, round(sync_state.seconds_until_allowed(state) / 60))
    return ngettext("This account was synced moments ago. You can sync it again in {minutes} "
                    "minute.",
                    "This account was synced moments ago. You can sync it again in {minutes} "
                    "minutes.", minutes).format(minutes=minutes)


def _tell_outcome(request, integration, clicked):
    """What became of the sync just queued: finished already (run in-process), or not yet."""
    state = GbpSyncState.objects.get(integration=integration)
    if state.status == GbpSyncState.Status.PAUSED:
        messages.warning(request, gettext("The sync paused for Google's quota; it resumes by "
                                          "itself."))
    elif state.status != GbpSyncState.Status.IDLE or not state.finished_at or (
            state.finished_at < clicked):
        messages.info(request, gettext("Sync queued: this page shows its progress, then the "
                                       "result."))
    else:
        integration.refresh_from_db(fields=["last_sync_status"])
        if integration.last_sync_status == Integration.SyncStatus.OK:
            messages.success(request, gettext("Sync finished."))
        else:
            messages.error(request, gettext("The sync did not finish; see below."))
