"""The Business Profile detail page (charts, reviews, history) and "Sync now"."""

import logging
from collections import defaultdict
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Max
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.timesince import timesince
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from integrations import display
from integrations.adapter import ACTIONS, get_adapter, integration_or_404
from integrations.models import Integration
from integrations.providers import registry
from integrations.security import page_headers

from . import state as sync_state
from .charts import line_chart
from .conf import settings
from .models import GbpDailyMetric, GbpLocation, GbpSyncState
from .providers import is_gbp

log = logging.getLogger(__name__)

CHART_SERIES = {
    "Impressions": ["BUSINESS_IMPRESSIONS_DESKTOP_MAPS", "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
                    "BUSINESS_IMPRESSIONS_MOBILE_MAPS", "BUSINESS_IMPRESSIONS_MOBILE_SEARCH"],
    "Calls": ["CALL_CLICKS"],
    "Website clicks": ["WEBSITE_CLICKS"],
    "Directions": ["BUSINESS_DIRECTION_REQUESTS"],
}


def _own_gbp_integration(request, integration_id, action="view"):
    """A Business Profile integration this request may see (through the host's adapter: anyone
    else's is a 404, no existence leak) and may do `action` to."""
    integration = integration_or_404(request, integration_id, action)
    provider = registry.find(integration.provider)
    return integration, provider


def _location_panels(integration, days=30):
    """Per location: a 30-day chart of the four headline numbers, totals, latest reviews."""
    panels = []
    locations = list(GbpLocation.objects.filter(integration=integration).select_related("account"))
    metrics = GbpDailyMetric.objects.filter(location__in=locations)
    end = metrics.aggregate(m=Max("date"))["m"]
    if end is None:
        return [{"location": loc, "charts": [], "totals": {}, "reviews": []} for loc in locations]
    dates = [end - timedelta(days=days - 1 - i) for i in range(days)]
    values = defaultdict(lambda: defaultdict(int))
    for location_id, metric, day, value in metrics.filter(date__gte=dates[0]).values_list(
            "location_id", "metric", "date", "value"):
        values[location_id][(metric, day)] = value
    for loc in locations:
        series = {label: [sum(values[loc.pk][(m, d)] for m in names) for d in dates]
                  for label, names in CHART_SERIES.items()}
        # Impressions run in the hundreds, actions in the tens: one chart each, own scales.
        actions = {k: v for k, v in series.items() if k != "Impressions"}
        panels.append({
            "location": loc,
            "charts": [
                line_chart(dates, {"Impressions": series["Impressions"]},
                           title=f"{loc.title}: impressions, last {days} days"),
                line_chart(dates, actions, title=f"{loc.title}: actions, last {days} days"),
            ],
            "totals": {label: sum(v) for label, v in series.items()},
            "reviews": list(loc.reviews.all()[:5]),
        })
    return panels


@page_headers
@never_cache
@login_required
@require_GET
def detail(request, integration_id):
    integration, provider = _own_gbp_integration(request, integration_id)
    name = provider.name if provider else integration.provider
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
        "panels": _location_panels(integration),
        "events": integration.events.all()[:10],
        "sync": _progress(integration),
    }
    return render(request, "gbp/detail.html", context)


@page_headers
@login_required
@require_POST
def sync(request, integration_id):
    """Queue a sync (it runs here on the embedded default), unless one is under way or the last
    click was less than GBP_SYNC_NOW_MIN_INTERVAL ago; then say so. Success is reported only
    for a sync that succeeded."""
    from .tasks import enqueue_sync

    integration, provider = _own_gbp_integration(request, integration_id, "sync")
    if not is_gbp(provider) or integration.status != Integration.Status.ACTIVE:
        messages.error(request, "This connection cannot be synced right now.")
        return redirect("integrations:index")
    clicked = timezone.now()
    unclaimed = sync_state.is_unclaimed(sync_state.get(integration.pk), clicked)
    allowed, state = sync_state.request_now(integration.pk)
    if not allowed:
        messages.info(request, _not_now(state))
        return redirect("gbp:detail", integration.pk)
    if unclaimed:
        log.warning("integration %s: a queued GBP sync was not picked up by a worker within %s s; "
                    "queued again (is a Celery worker running?)", integration.pk,
                    settings.GBP_SYNC_PICKUP_SECONDS)
    if not enqueue_sync(integration.pk, since=state.requested_at):
        sync_state.unqueue(integration.pk)
        messages.error(request, "The sync could not be started: our background task queue "
                                "cannot be reached. This is a problem on our side and it has "
                                "been logged for our team; nothing for you to do.")
    else:
        _tell_outcome(request, integration, clicked)
    return redirect("gbp:detail", integration.pk)


@page_headers
@never_cache
@login_required
@require_GET
def sync_status(request, integration_id):
    """The sync's progress for the detail page's poll: {"syncing", "text", "done", "total"}."""
    integration, _ = _own_gbp_integration(request, integration_id)
    progress = _progress(integration)
    return JsonResponse({key: progress[key] for key in ("syncing", "text", "done", "total")})


def _progress(integration) -> dict:
    state = GbpSyncState.objects.filter(integration=integration).first()
    syncing = sync_state.is_syncing(state)
    done, total = (state.locations_done, state.locations_total) if state else (0, 0)
    text = ""
    if syncing and state.status == GbpSyncState.Status.PAUSED:
        when = timezone.localtime(state.resume_at).strftime("%H:%M") if state.resume_at else ""
        text = (f"Paused for Google's quota after {done:,} of {total:,} locations"
                + (f"; resumes at {when}." if when else "; resumes with the next sync."))
    elif syncing and state.status == GbpSyncState.Status.QUEUED:
        text = "Sync queued: waiting for a background worker…"
    elif sync_state.is_unclaimed(state):
        text = (f"No background worker has picked this sync up "
                f"(queued {timesince(state.requested_at)} ago). It may start later; "
                "Sync now queues it again.")
    elif syncing:
        text = (f"Syncing… {done:,} of {total:,} locations" if total
                else "Syncing… listing locations")
    elif state and state.status == GbpSyncState.Status.PAUSED:
        text = (f"Paused for Google's quota after {done:,} of {total:,} locations; "
                "Sync now resumes it.")
    return {"syncing": syncing, "text": text, "done": done, "total": total}


def _not_now(state) -> str:
    if sync_state.is_syncing(state):
        return "A sync of this account is already under way; this page shows its progress."
    minutes = max(1, round(sync_state.seconds_until_allowed(state) / 60))
    return (f"This account was synced moments ago. You can sync it again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}.")


def _tell_outcome(request, integration, clicked):
    """What became of the sync just queued: finished already (run in-process), or not yet."""
    state = GbpSyncState.objects.get(integration=integration)
    if state.status == GbpSyncState.Status.PAUSED:
        messages.warning(request, "The sync paused for Google's quota; it resumes by itself.")
    elif state.status != GbpSyncState.Status.IDLE or not state.finished_at or (
            state.finished_at < clicked):
        messages.info(request, "Sync queued: this page shows its progress, then the result.")
    else:
        integration.refresh_from_db(fields=["last_sync_status"])
        if integration.last_sync_status == Integration.SyncStatus.OK:
            messages.success(request, "Sync finished.")
        else:
            messages.error(request, "The sync did not finish; see below.")
