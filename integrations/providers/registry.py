"""The providers on offer: the built-in declarations, overridden or extended from settings.

Built once per process and again whenever one of the app's settings changes (override_settings
and the test suite's `settings` fixture say so through `integrations.conf.changed`): a refresh
asks for its provider every time, and building them all from settings cost more than the rest
of a fresh-token check.
"""

import threading

from . import amazon, gmail, google_business_profile, microsoft
from ..conf import changed, settings
from .base import FIELD_NAMES, Provider

BUILTIN = {
    "google_business_profile": google_business_profile.declare,
    "gmail": gmail.declare,
    "microsoft": microsoft.declare,
    "amazon": amazon.declare,
}


class ProviderConfigError(ValueError):
    pass


def _build(provider_id: str, declared: dict) -> Provider:
    unknown = set(declared) - FIELD_NAMES - {"extends"}
    if unknown:
        raise ProviderConfigError(
            f"INTEGRATION_PROVIDERS[{provider_id!r}] has unknown keys: {', '.join(sorted(unknown))}"
        )
    values = {k: v for k, v in declared.items() if k != "extends"}
    for key in ("scopes", "required_scopes"):
        if key in values:
            values[key] = tuple(values[key])
    values.setdefault("name", provider_id.replace("_", " ").title())
    for key in ("authorize_url", "token_url"):
        if not values.get(key):
            raise ProviderConfigError(f"provider {provider_id!r} needs {key}")
    return Provider(id=provider_id, **values)


def declarations() -> dict[str, dict]:
    result = {pid: declare(settings) for pid, declare in BUILTIN.items()}
    for pid, override in (settings.INTEGRATION_PROVIDERS or {}).items():
        base_id = override.get("extends", pid)
        base = result.get(base_id) or (BUILTIN[base_id](settings) if base_id in BUILTIN else {})
        result[pid] = {**base, **override}
    return result


_built: dict[str, Provider | ProviderConfigError] | None = None
_lock = threading.Lock()


def _providers() -> dict:
    """Every declared provider by id (a misdeclared one as its error, raised when asked for)."""
    global _built
    built = _built
    if built is None:
        with _lock:
            built = {}
            for pid, declared in declarations().items():
                try:
                    built[pid] = _build(pid, declared)
                except ProviderConfigError as exc:
                    built[pid] = exc
            _built = built
    return built


def clear_cache(**kwargs):
    global _built
    _built = None


changed.connect(clear_cache, dispatch_uid="integrations.providers.registry")


def _checked(provider):
    if isinstance(provider, ProviderConfigError):
        raise provider
    return provider


def all_providers() -> list[Provider]:
    return [_checked(p) for p in _providers().values()]


def find(provider_id: str) -> Provider | None:
    return _checked(_providers().get(provider_id))


def name_of(provider_id: str) -> str:
    """A provider's display name, or its id when it is no longer declared."""
    provider = find(provider_id)
    return provider.name if provider else provider_id


def get(provider_id: str) -> Provider:
    provider = find(provider_id)
    if provider is None:
        raise KeyError(provider_id)
    return provider
