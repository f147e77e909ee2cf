import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from integrations.fields import is_undecryptable
from integrations.models import Integration, OAuthCredential

OLD_KEY = "test-fernet-key-one-7d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a"
NEW_KEY = "a-brand-new-fernet-key-2c9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f"


def raw_rows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM integrations_oauthcredential")
        return [tuple(bytes(v) for v in row) for row in cursor.fetchall()]


def test_it_stores_no_plaintext_token_bytes(db, owner, make_integration):
    integration = make_integration(owner)
    cred = integration.credential
    rows = raw_rows()
    assert rows
    for access, refresh in rows:
        for token in (cred.access_token, cred.refresh_token):
            assert token.encode() not in access
            assert token.encode() not in refresh
        assert b"SECRET" not in access + refresh


def test_it_reads_back_what_it_wrote(db, owner, make_integration):
    integration = make_integration(owner, access_token="plain-a", refresh_token="plain-r")
    cred = OAuthCredential.objects.get(integration=integration)
    assert (cred.access_token, cred.refresh_token) == ("plain-a", "plain-r")


def test_it_rotates_to_the_newest_key(db, owner, make_integration, settings):
    integration = make_integration(owner, access_token="keep-a", refresh_token="keep-r")
    settings.INTEGRATIONS_FERNET_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_fernet_keys")

    settings.INTEGRATIONS_FERNET_KEYS = [NEW_KEY]  # the old key is gone: the new one alone must do
    cred = OAuthCredential.objects.get(integration=integration)
    assert (cred.access_token, cred.refresh_token) == ("keep-a", "keep-r")


def test_it_reports_and_flags_rows_it_cannot_decrypt(db, owner, make_integration, settings):
    integration = make_integration(owner)
    settings.INTEGRATIONS_FERNET_KEYS = [NEW_KEY]

    with pytest.raises(CommandError, match="undecryptable 1"):
        call_command("rotate_fernet_keys")

    integration.refresh_from_db()
    assert integration.status == Integration.Status.REAUTH_REQUIRED
    assert integration.credential.last_error_code == "undecryptable"
    # The ciphertext is kept: restoring the key makes the tokens readable again.
    settings.INTEGRATIONS_FERNET_KEYS = [OLD_KEY]
    assert not integration.credential.__class__.objects.get(pk=integration.credential.pk).is_undecryptable


def test_it_reads_an_undecryptable_row_without_crashing(db, owner, make_integration, settings):
    integration = make_integration(owner)
    settings.INTEGRATIONS_FERNET_KEYS = [NEW_KEY]
    cred = OAuthCredential.objects.get(integration=integration)
    assert is_undecryptable(cred.access_token)
    assert cred.is_undecryptable
    assert "SECRET" not in repr(cred.access_token)


def test_it_keeps_ciphertext_when_an_undecryptable_row_is_saved(db, owner, make_integration, settings):
    integration = make_integration(owner, access_token="survivor")
    settings.INTEGRATIONS_FERNET_KEYS = [NEW_KEY]
    cred = OAuthCredential.objects.get(integration=integration)
    cred.refresh_failures = 3
    cred.save()
    settings.INTEGRATIONS_FERNET_KEYS = [OLD_KEY]
    assert OAuthCredential.objects.get(pk=cred.pk).access_token == "survivor"


def test_it_dry_runs_without_writing(db, owner, make_integration, settings):
    make_integration(owner)
    before = raw_rows()
    settings.INTEGRATIONS_FERNET_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_fernet_keys", "--dry-run")
    assert raw_rows() == before
