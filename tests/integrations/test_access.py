"""Every URL x (anonymous, another team's user, the owner: the team's admin, a member of the team
who is not an admin, staff of another team) x method, with the expected status."""

import pytest
from django.test import Client

from accounts.models import Membership
from integrations import http, tokens

LOGIN = 302  # anonymous users are sent to the login page
# url template, method, {role: status}; {id} is the owner's integration
TABLE = [
    ("/integrations/", "get", {"anon": LOGIN, "other": 200, "owner": 200, "staff": 200}),
    ("/integrations/", "post", {"anon": LOGIN, "other": 405, "owner": 405, "staff": 405}),
    ("/integrations/connect/sandbox/", "get", {"anon": LOGIN, "other": 302, "owner": 302, "staff": 302}),
    ("/integrations/connect/sandbox/", "post", {"anon": LOGIN, "other": 405, "owner": 405, "staff": 405}),
    ("/integrations/connect/nope/", "get", {"anon": LOGIN, "other": 404, "owner": 404, "staff": 404}),
    ("/integrations/connect/sandbox/?integration={id}", "get",
     {"anon": LOGIN, "other": 404, "owner": 302, "staff": 404}),
    ("/integrations/callback/sandbox/", "get", {"anon": LOGIN, "other": 400, "owner": 400, "staff": 400}),
    ("/integrations/callback/sandbox/?state=forged&code=x", "get",
     {"anon": LOGIN, "other": 403, "owner": 403, "staff": 403}),
    ("/integrations/callback/sandbox/", "post", {"anon": LOGIN, "other": 405, "owner": 405, "staff": 405}),
    ("/integrations/gbp/{id}/", "get", {"anon": LOGIN, "other": 404, "owner": 200, "staff": 404}),
    ("/integrations/gbp/{id}/", "post", {"anon": LOGIN, "other": 405, "owner": 405, "staff": 405}),
    ("/integrations/gbp/999999/", "get", {"anon": LOGIN, "other": 404, "owner": 404, "staff": 404}),
    ("/integrations/{id}/disconnect/", "post", {"anon": LOGIN, "other": 404, "owner": 302, "staff": 404}),
    ("/integrations/{id}/disconnect/", "get", {"anon": LOGIN, "other": 405, "owner": 405, "staff": 405}),
    ("/integrations/gbp/{id}/sync/", "post", {"anon": LOGIN, "other": 404, "owner": 302, "staff": 404}),
    ("/integrations/gbp/{id}/sync/", "get", {"anon": LOGIN, "other": 405, "owner": 405, "staff": 405}),
    ("/integrations/health/", "get", {"anon": 403, "other": 403, "owner": 403, "staff": 200}),
    ("/integrations/health/", "post", {"anon": 405, "other": 405, "owner": 405, "staff": 405}),
    ("/admin/integrations/integration/", "get", {"anon": 302, "other": 302, "owner": 302, "staff": 200}),
    ("/admin/integrations/integration/{id}/change/", "get",
     {"anon": 302, "other": 302, "owner": 302, "staff": 200}),
    ("/sandbox/", "get", {"anon": LOGIN, "other": 200, "owner": 200, "staff": 200}),
    ("/sandbox/faults/clear/", "get", {"anon": LOGIN, "other": 405, "owner": 405, "staff": 405}),
    ("/sandbox/faults/clear/", "post", {"anon": LOGIN, "other": 403, "owner": 403, "staff": 302}),
    ("/sandbox/faults/inject/", "post", {"anon": LOGIN, "other": 403, "owner": 403, "staff": 302}),
    # The owner's remove is tested in test_remove.py (an active integration is not removed).
    ("/integrations/{id}/remove/", "post", {"anon": LOGIN, "other": 404, "staff": 404}),
    ("/integrations/{id}/remove/", "get", {"anon": LOGIN, "other": 405, "owner": 405, "staff": 405}),
]
# A member of the owner's team who is not one of its admins (the demo's adapter): what the owner
# (the team's admin) may do, except disconnect and remove, which are a 403.
ADMINS_ONLY = ("/disconnect/", "/remove/")


def member(url, method, expected):
    if method == "post" and url.endswith(ADMINS_ONLY):
        return 403
    return expected.get("owner", 302)


CASES = [(url, method, role, status) for url, method, expected in TABLE
         for role, status in {**expected, "member": member(url, method, expected)}.items()]


@pytest.mark.parametrize("url,method,role,status", CASES,
                         ids=[f"{m.upper()} {u} as {r}" for u, m, r, _ in CASES])
def test_it_answers_each_role_as_expected(db, owner, other, staff, make_integration, monkeypatch,
                                          django_user_model, url, method, role, status):
    monkeypatch.setattr(http, "wait", lambda s: None)
    integration = make_integration(owner, "sandbox")
    client = Client()
    teammate = django_user_model.objects.create_user("dana", "dana@example.com", "pw-dana-1")
    Membership.objects.create(team=integration.owner, user=teammate, role="member")
    user = {"other": other, "owner": owner, "staff": staff, "member": teammate}.get(role)
    if user:
        client.force_login(user)
    response = getattr(client, method)(url.format(id=integration.pk))
    assert response.status_code == status
    if status == LOGIN and role == "anon" and not url.startswith("/admin/"):
        assert response["Location"].startswith("/accounts/login/")
    integration.refresh_from_db()
    changed = integration.status != "active" or integration.last_sync_status != "never"
    assert changed == (role in ("owner", "member") and method == "post" and status == 302)
