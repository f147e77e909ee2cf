pytest_plugins = ["sandbox.pytest_plugin"]

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import Integration, OAuthCredential

_seq = itertools.count(1)


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "pw-alice-1")


@pytest.fixture
def other(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "pw-bob-1")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        "carol", "carol@example.com", "pw-carol-1", is_staff=True, is_superuser=True
    )


def create_integration(user, provider="google_business_profile", *, expires_in=3600, **fields):
    """An integration with a credential whose tokens are unique, recognisable strings."""
    n = next(_seq)
    cred_fields = {
        "access_token": fields.pop("access_token", f"ya29.access-token-{n}-SECRET"),
        "refresh_token": fields.pop("refresh_token", f"1//refresh-token-{n}-SECRET"),
        "expires_at": timezone.now() + timedelta(seconds=expires_in),
        "scopes": fields.pop("scopes", ["openid", "email"]),
    }
    for name in list(fields):
        if name in {f.name for f in OAuthCredential._meta.fields}:
            cred_fields[name] = fields.pop(name)
    integration = Integration.objects.create(
        user=user,
        provider=provider,
        external_id=fields.pop("external_id", f"acct-{n}"),
        display_name=fields.pop("display_name", f"account{n}@example.com"),
        **fields,
    )
    OAuthCredential.objects.create(integration=integration, **cred_fields)
    return integration


@pytest.fixture
def make_integration():
    return create_integration
