import pytest

from integrations.providers import registry
from tests.helpers import configure_provider


def test_it_declares_the_built_in_providers(settings):
    ids = {p.id for p in registry.all_providers()}
    assert {"google_business_profile", "gmail", "microsoft", "amazon", "sandbox"} <= ids


def test_it_reads_client_credentials_from_settings_at_call_time(settings):
    configure_provider(settings, "google", client_id="id-1", client_secret="secret-1")
    assert registry.get("gmail").client_id == "id-1"
    configure_provider(settings, "google", client_secret="secret-2")
    assert registry.get("gmail").client_secret == "secret-2"


def test_it_picks_amazons_region(settings):
    configure_provider(settings, "amazon", region="EU")
    amazon = registry.get("amazon")
    assert amazon.token_url == "https://api.amazon.co.uk/auth/o2/token"
    assert "advertising::campaign_management" in amazon.scopes


def test_it_overrides_a_built_in_from_settings(settings):
    settings.INTEGRATIONS_PROVIDERS = {"gmail": {"token_url": "https://staging.example/token",
                                                "scopes": ["https://mail.google.com/"]}}
    gmail = registry.get("gmail")
    assert gmail.token_url == "https://staging.example/token"
    assert gmail.scopes == ("https://mail.google.com/",)
    assert gmail.authorize_url.startswith("https://accounts.google.com/")


def test_it_declares_a_generic_provider_from_settings(settings):
    settings.INTEGRATIONS_PROVIDERS = {"acme": {
        "name": "Acme CRM", "authorize_url": "https://acme.example/authorize",
        "token_url": "https://acme.example/token", "scopes": ["read"], "client_id": "c",
        "client_secret": "s", "client_auth": "basic",
    }}
    acme = registry.get("acme")
    assert acme.configured and acme.client_auth == "basic" and acme.pkce


def test_it_refuses_unknown_keys(settings):
    settings.INTEGRATIONS_PROVIDERS = {"acme": {"authorize_url": "a", "token_url": "t", "colour": 1}}
    with pytest.raises(registry.ProviderConfigError):
        registry.get("acme")


def test_it_matches_microsoft_scopes_with_their_prefix(settings):
    microsoft = registry.get("microsoft")
    granted = ["https://graph.microsoft.com/Mail.ReadWrite", "https://graph.microsoft.com/Mail.Send"]
    assert microsoft.missing_scopes(granted) == []
    assert microsoft.missing_scopes(granted[:1]) == ["Mail.Send"]


def test_it_never_prints_a_client_secret(settings):
    configure_provider(settings, "google", client_secret="very-secret-value")
    assert "very-secret-value" not in repr(registry.get("gmail"))
