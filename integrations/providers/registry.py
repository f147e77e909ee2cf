"""The providers on offer: the built-in declarations, overridden or extended from settings.

Built once per process and again whenever one of the app's settings changes (override_settings
and the test suite's `settings` fixture say so through `integrations.conf.changed`): a refresh
asks for its provider every time, and building them all from settings cost more than the rest
of a fresh-token check.
"""

import threading

from . import amazon, gmail, google_business_profile, microsoft, microsoft_mail
from ..conf import changed, settings
from .base import FIELD_NAMES, MAIL_SECURITY, Provider

BUILTIN = {module.__name__.rsplit(".", 1)[1]: module
           for module in (google_business_profile, gmail, microsoft, microsoft_mail, amazon)}
# Keys of INTEGRATIONS_PROVIDERS that are not providers: what several built-ins share.
FAMILIES = {getattr(module, "FAMILY", "") for module in BUILTIN.values()} - {""}


class ProviderConfigError(ValueError):
    pass


def _absolute(url, base):
    """An endpoint declared as a path ("/sandbox/o/token/") is served by this very site."""
    if isinstance(url, str) and url.startswith("/") and not url.startswith("//"):
        return base.rstrip("/") + url
    return url


def _build(provider_id: str, declared: dict) -> Provider:
    unknown = set(declared) - FIELD_NAMES - {"extends"}
    if unknown:
        raise ProviderConfigError(
            f"INTEGRATIONS_PROVIDERS[{provider_id!r}] has unknown keys: "
            f"{', '.join(sorted(unknown))}")
    values = {k: v for k, v in declared.items() if k != "extends"}
    for key in ("scopes", "required_scopes", "mail_scopes"):
        if key in values:
            values[key] = tuple(values[key])
    for key in ("imap_security", "smtp_security"):
        if key in values and values[key] not in MAIL_SECURITY:
            raise ProviderConfigError(
                f"INTEGRATIONS_PROVIDERS[{provider_id!r}][{key!r}] must be one of "
                f"{', '.join(MAIL_SECURITY)}")
    for key in ("authorize_url", "token_url", "revoke_url", "userinfo_url", "api_base_url"):
        if key in values:
            values[key] = _absolute(values[key], settings.INTEGRATIONS_BASE_URL or "")
    values.setdefault("name", provider_id.replace("_", " ").title())
    for key in ("authorize_url", "token_url"):
        if not values.get(key):
            raise ProviderConfigError(f"provider {provider_id!r} needs {key}")
    return Provider(id=provider_id, **values)


def configured() -> dict[str, dict]:
    """INTEGRATIONS_PROVIDERS as given (a dict of dicts)."""
    given = settings.INTEGRATIONS_PROVIDERS or {}
    if not isinstance(given, dict):
        raise ProviderConfigError("INTEGRATIONS_PROVIDERS must be a dict of provider id -> dict")
    return given


def declarations() -> dict[str, dict]:
    """Every provider's fields: the built-ins with what settings give them (their family's
    entry, then their own), then the providers declared in settings (`extends` starts one from
    another)."""
    given = configured()
    result = {}
    for pid, module in BUILTIN.items():
        options = {**given.get(getattr(module, "FAMILY", ""), {}), **given.get(pid, {})}
        own = getattr(module, "OPTIONS", ())
        result[pid] = {**module.declare(options),
                       **{k: v for k, v in options.items() if k not in own}}
    for pid, declared in given.items():
        if pid in BUILTIN or pid in FAMILIES:
            continue
        base_id = declared.get("extends")
        base = result.get(base_id, {}) if base_id else {}
        result[pid] = {**base, **declared}
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
