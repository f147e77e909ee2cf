"""What consumer apps offer for an integration, learnt at start-up instead of imported.

The core never imports a consumer. A consumer (such as `gbp`) registers itself in its
`AppConfig.ready()`; the core's pages, admin and `setup_schedules` ask this registry what to
show or schedule:

    consumers.register(Consumer(
        name="gbp",                                  # matches Provider.syncs
        detail_url=lambda i: reverse("gbp:detail", args=[i.pk]),   # "View data"
        sync_url=lambda i: reverse("gbp:sync", args=[i.pk]),       # "Sync now" (POST)
        enqueue_sync=lambda integration_id: ...,     # admin's "Sync now" action
        schedules=[...],                             # beat entries, see setup_schedules
        api_router=lambda: gbp.api.router,           # its JSON API endpoints (a ninja Router)
    ))

`api_router` is a function so that django-ninja (the optional `api` extra) is imported only by
the core's API, when it is installed and mounted: the core mounts each consumer's router at the
API's root (its paths are `/integrations/{integration_id}/...`).
"""

from dataclasses import dataclass, field
from typing import Callable

from .providers import registry

_consumers: dict[str, "Consumer"] = {}


@dataclass(frozen=True)
class Schedule:
    """A beat entry: a crontab (dict of crontab fields) or an interval ({"every", "period"})."""

    name: str
    task: str
    kwargs: dict = field(default_factory=dict)
    crontab: dict | None = None
    interval: dict | None = None


@dataclass(frozen=True)
class Consumer:
    name: str
    detail_url: Callable | None = None
    sync_url: Callable | None = None
    enqueue_sync: Callable | None = None
    schedules: tuple[Schedule, ...] = ()
    api_router: Callable | None = None

    def handles(self, provider) -> bool:
        return provider is not None and provider.syncs == self.name


def register(consumer: Consumer) -> None:
    _consumers[consumer.name] = consumer


def unregister(name: str) -> None:
    _consumers.pop(name, None)


def all_consumers() -> list[Consumer]:
    return list(_consumers.values())


def for_provider(provider) -> Consumer | None:
    """The consumer of a provider's data, if one is installed."""
    return next((c for c in _consumers.values() if c.handles(provider)), None)


def syncing_provider_ids() -> list[str]:
    """Providers whose data an installed consumer syncs."""
    return [p.id for p in registry.all_providers() if for_provider(p)]
