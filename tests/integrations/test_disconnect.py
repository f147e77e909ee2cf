import pytest
import requests
from django.test import Client

from integrations.models import Integration, IntegrationEvent
from tests.helpers import configure_provider, connect


@pytest.fixture
def connected(sandbox, client, owner):
    client.force_login(owner)
    connect(client, sandbox, owner)
    return Integration.objects.get()


def userinfo_status(sandbox, token):
    return requests.get(sandbox.url("userinfo"), timeout=10,
                        headers={"Authorization": f"Bearer {token}"}).status_code


def test_it_revokes_at_the_provider_and_wipes_tokens(sandbox, client, connected):
    token = connected.credential.access_token
    r = client.post(f"/integrations/{connected.pk}/disconnect/")
    assert r.status_code == 302
    connected.refresh_from_db()
    assert connected.status == "disconnected"
    cred = connected.credential
    assert cred.access_token is None and cred.refresh_token is None
    assert userinfo_status(sandbox, token) == 401
    assert connected.events.first().kind == IntegrationEvent.Kind.DISCONNECTED


def test_it_wipes_tokens_even_when_the_provider_fails(sandbox, client, connected):
    sandbox.inject("revoke", "503")
    r = client.post(f"/integrations/{connected.pk}/disconnect/", follow=True)
    assert "(tokens deleted here; the provider was not asked to revoke them)" in r.content.decode()
    connected.refresh_from_db()
    assert connected.status == "disconnected" and connected.credential.refresh_token is None


def test_it_can_connect_the_same_account_again(sandbox, client, owner, connected):
    client.post(f"/integrations/{connected.pk}/disconnect/")
    connect(client, sandbox, owner)
    again = Integration.objects.get()
    assert again.pk == connected.pk and again.status == "active"


def test_it_404s_someone_elses_integration(db, client, other, owner, make_integration):
    mine = make_integration(owner)
    client.force_login(other)
    for url in (f"/integrations/{mine.pk}/disconnect/", f"/integrations/gbp/{mine.pk}/sync/"):
        assert client.post(url).status_code == 404
    assert client.get(f"/integrations/gbp/{mine.pk}/").status_code == 404
    mine.refresh_from_db()
    assert mine.status == "active"


def test_it_is_post_only(db, client, owner, make_integration):
    mine = make_integration(owner)
    client.force_login(owner)
    assert client.get(f"/integrations/{mine.pk}/disconnect/").status_code == 405
    assert client.get(f"/integrations/gbp/{mine.pk}/sync/").status_code == 405


def test_it_enforces_csrf(db, owner, make_integration):
    mine = make_integration(owner)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(f"/integrations/{mine.pk}/disconnect/").status_code == 403
    mine.refresh_from_db()
    assert mine.status == "active"


def test_it_keeps_a_sibling_on_the_same_google_grant(db, client, owner, make_integration, settings):
    """Google revokes a whole grant: disconnecting Gmail must not cut off Business Profile."""
    configure_provider(settings, "google", client_id="google-client-id")
    gbp = make_integration(owner, "google_business_profile", external_id="sub-1")
    gmail = make_integration(owner, "gmail", external_id="sub-1")
    client.force_login(owner)
    import responses

    with responses.RequestsMock() as mocked:  # would fail loudly on any revoke request
        client.post(f"/integrations/{gmail.pk}/disconnect/")
    assert len(mocked.calls) == 0
    gbp.refresh_from_db()
    assert gbp.status == "active"
