"""The host's adapter (INTEGRATIONS_ADAPTER): what it decides is what the views, admin and
commands do."""

import pytest
from django.urls import reverse

from accounts.adapters import TeamAdapter
from integrations.adapter import get_adapter
from integrations.models import Integration
from tests.helpers import connect, page_text


class ReadOnlyForNonStaff(TeamAdapter):
    """Staff see and act on every integration; others may look at their own but not change
    them or connect anything."""

    def integrations_for(self, request):
        if request.user.is_staff:
            return Integration.objects.all()
        return super().integrations_for(request)

    def can_act(self, request, integration, action):
        return request.user.is_staff or action == "view"

    def can_connect(self, request, provider):
        return request.user.is_staff

    def connect_redirect_url(self, request, integration, created, next_url):
        return f"/integrations/gbp/{integration.pk}/?welcome=1"


@pytest.fixture
def host_adapter(settings):
    settings.INTEGRATIONS_ADAPTER = f"{__name__}.ReadOnlyForNonStaff"
    return get_adapter()


def test_it_uses_the_adapter_the_host_sets(settings):
    assert type(get_adapter()) is TeamAdapter  # the demo host's


def test_it_loads_the_adapter_the_setting_names(host_adapter):
    assert isinstance(host_adapter, ReadOnlyForNonStaff)


def test_it_lets_the_adapter_decide_what_a_request_may_do(db, client, owner, make_integration,
                                                         host_adapter):
    integration = make_integration(owner, "sandbox")
    client.force_login(owner)
    assert client.get(f"/integrations/gbp/{integration.pk}/").status_code == 200
    assert client.post(f"/integrations/{integration.pk}/disconnect/").status_code == 403
    assert client.post(f"/integrations/gbp/{integration.pk}/sync/").status_code == 403
    integration.refresh_from_db()
    assert integration.status == Integration.Status.ACTIVE


def test_it_offers_only_the_actions_the_adapter_allows(db, client, owner, make_integration,
                                                        host_adapter):
    integration = make_integration(owner, "sandbox")
    client.force_login(owner)
    index = page_text(client.get("/integrations/"))
    assert f"/integrations/{integration.pk}/disconnect/" not in index
    assert f"/integrations/gbp/{integration.pk}/sync/" not in index
    detail = page_text(client.get(f"/integrations/gbp/{integration.pk}/"))
    assert f"/integrations/gbp/{integration.pk}/sync/" not in detail


def test_it_lets_the_adapter_widen_what_a_request_sees(db, client, owner, staff, make_integration,
                                                      host_adapter):
    integration = make_integration(owner, "sandbox")
    client.force_login(staff)
    assert client.get(f"/integrations/gbp/{integration.pk}/").status_code == 200
    assert f'data-integration="{integration.pk}"' in page_text(client.get("/integrations/"))


def test_it_offers_only_providers_the_adapter_allows(db, client, owner, host_adapter):
    client.force_login(owner)
    assert "/integrations/connect/sandbox/" not in page_text(client.get("/integrations/"))
    r = client.get("/integrations/connect/sandbox/")
    assert r.status_code == 302 and r["Location"] == reverse("integrations:index")
    assert "integrations_oauth_states" not in client.session


def test_it_sends_the_user_where_the_adapter_says_after_connect(sandbox, client, staff,
                                                                host_adapter):
    client.force_login(staff)
    done = connect(client, sandbox, staff)
    integration = Integration.objects.get(connected_by=staff)
    assert done["Location"] == f"/integrations/gbp/{integration.pk}/?welcome=1"


def test_it_names_and_reaches_users_through_the_adapter(db, owner, django_user_model):
    adapter = get_adapter()
    assert adapter.user_display(owner) == "alice"
    assert adapter.user_email(owner) == "alice@example.com"
    assert adapter.user_email(django_user_model(username="x", email="not an address")) == ""
    assert adapter.user_search_fields() == ["connected_by__username", "connected_by__email"]


class GermanNotices(TeamAdapter):
    def user_language(self, user):
        return "de"


def test_it_writes_the_notice_in_the_language_the_adapter_names(db, owner, make_integration,
                                                                 settings,
                                                                 django_capture_on_commit_callbacks):
    from django.core import mail

    from integrations import tokens
    from integrations.adapter import DefaultAdapter

    assert DefaultAdapter().user_language(owner) == settings.LANGUAGE_CODE  # the site's
    settings.INTEGRATIONS_ADAPTER = f"{__name__}.GermanNotices"
    integration = make_integration(owner, "sandbox")
    with django_capture_on_commit_callbacks(execute=True):
        tokens.mark_reauth_required(integration, "invalid_grant", "revoked")
    assert mail.outbox[0].body.startswith("Guten Tag alice,")
