"""Which providers this app syncs: those declared with `syncs="gbp"` (Google Business Profile
and its look-alikes: a staging server, the sandbox)."""

from integrations.providers import registry

CONSUMER = "gbp"


def is_gbp(provider) -> bool:
    return provider is not None and provider.syncs == CONSUMER


def provider_ids() -> list[str]:
    return [p.id for p in registry.all_providers() if is_gbp(p)]
