"""The Business Profile detail page (charts, reviews, history) and "Sync now"."""

from collections import defaultdict
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Max
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from integrations import display
from integrations.models import Integration
from integrations.providers import registry

from .charts import line_chart
from .models import GbpDailyMetric, GbpLocation
from .providers import is_gbp

CHART_SERIES = {
    "Impressions": ["BUSINESS_IMPRESSIONS_DESKTOP_MAPS", "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
                    "BUSINESS_IMPRESSIONS_MOBILE_MAPS", "BUSINESS_IMPRESSIONS_MOBILE_SEARCH"],
    "Calls": ["CALL_CLICKS"],
    "Website clicks": ["WEBSITE_CLICKS"],
    "Directions": ["BUSINESS_DIRECTION_REQUESTS"],
}


def _own_gbp_integration(request, integration_id):
    """The user's own Business Profile integration; anyone else's is a 404 (no existence leak)."""
    integration = get_object_or_404(Integration, pk=integration_id, user=request.user)
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
        "panels": _location_panels(integration),
        "events": integration.events.all()[:10],
    }
    return render(request, "gbp/detail.html", context)


@login_required
@require_POST
def sync(request, integration_id):
    from .tasks import sync_integration

    integration, provider = _own_gbp_integration(request, integration_id)
    if not is_gbp(provider) or integration.status != Integration.Status.ACTIVE:
        messages.error(request, "This connection cannot be synced right now.")
        return redirect("integrations:index")
    sync_integration.delay(integration.pk)
    messages.success(request, f"Sync started for {integration.display_name}.")
    return redirect("gbp:detail", integration.pk)
