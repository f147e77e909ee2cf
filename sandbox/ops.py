"""What the sandbox's command, control page and test helper do, in one place."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
)

from .conf import MAX_LATENCY_MS
from .faults import KINDS
from .models import ENDPOINTS, Call, Fault

ENDPOINT_NAMES = [name for name, _ in ENDPOINTS]


def register_client(redirect_uris=None, client_id=None, client_secret=None):
    """Create or update the product's OAuth application at the sandbox (idempotent)."""
    Application = get_application_model()
    if redirect_uris is None:
        base = getattr(settings, "INTEGRATIONS_BASE_URL", "") or ""
        if not base:
            raise ValueError(gettext("INTEGRATIONS_BASE_URL is not set: the sandbox cannot know "
                                     "the product's redirect URI (http://127.0.0.1:8000 for "
                                     "runserver)"))
        redirect_uris = [base.rstrip("/") + "/integrations/callback/sandbox/"]
    app, created = Application.objects.update_or_create(
        client_id=client_id or settings.SANDBOX_CLIENT_ID,
        defaults={
            "name": "Integrations (sandbox client)",
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "redirect_uris": " ".join(redirect_uris),
            "client_secret": client_secret or settings.SANDBOX_CLIENT_SECRET,
            "skip_authorization": False,
        },
    )
    return app, created


def inject(endpoint, kind, times=1, *, status=None, body="", content_type="", retry_after=None,
           latency_ms=0):
    """The next `times` calls to `endpoint` fail with `kind` (times=None: until cleared)."""
    if endpoint not in ENDPOINT_NAMES:
        raise ValueError(gettext("unknown endpoint {endpoint!r}; one of {names}").format(
            endpoint=endpoint, names=", ".join(ENDPOINT_NAMES)))
    if kind not in KINDS:
        raise ValueError(gettext("unknown fault kind {kind!r}; one of {names}").format(
            kind=kind, names=", ".join(KINDS)))
    if kind == "hang" and not latency_ms:
        latency_ms = MAX_LATENCY_MS
    if not 0 <= (latency_ms or 0) <= MAX_LATENCY_MS:
        raise ValueError(gettext("latency must be between 0 and {max} ms").format(
            max=MAX_LATENCY_MS))
    if kind == "429" and retry_after is None:
        retry_after = 1
    return Fault.objects.create(
        endpoint=endpoint, kind=kind, remaining=times, status=status, body=body,
        content_type=content_type, retry_after=retry_after, latency_ms=latency_ms,
    )


def clear_faults():
    return Fault.objects.all().delete()[0]


def expire_tokens(user):
    """Every access token of this user expires now (their refresh tokens still work)."""
    past = timezone.now() - timedelta(seconds=1)
    return get_access_token_model().objects.filter(user=user).update(expires=past)


def revoke_access_tokens(user):
    """Every access token of this user is revoked now, before its expiry; the grant is not: the
    refresh tokens still work. A resource server that asks (token introspection, a mail server)
    no longer knows the tokens the client holds. (Each row stays, under a value nobody holds:
    the toolkit takes a refresh token whose access token row is gone for an orphan.)"""
    import secrets

    from oauth2_provider.models import set_token_value

    count = 0
    for access in get_access_token_model().objects.filter(user=user):
        set_token_value(access, secrets.token_urlsafe(24))
        access.save()
        count += 1
    return count


def revoke_grant(user):
    """The user revokes the app's access (like Google's "Remove access"): all tokens die."""
    RefreshToken = get_refresh_token_model()
    count = 0
    for refresh in RefreshToken.objects.filter(user=user, revoked__isnull=True):
        refresh.revoke()
        count += 1
    get_access_token_model().objects.filter(user=user).delete()
    return count


def calls(endpoint=None, detail=None):
    qs = Call.objects.all()
    if endpoint:
        qs = qs.filter(endpoint=endpoint)
    if detail is not None:
        qs = qs.filter(detail=detail)
    return qs.count()


def issue_grants(user, count, scope="openid email https://www.googleapis.com/auth/business.manage"):
    """Issue `count` access/refresh token pairs to the product's client for `user` without the
    consent dance (load tests need thousands). Returns [(access, refresh, expires_at)]."""
    import secrets
    import uuid

    from django.db import transaction
    from oauth2_provider.models import set_token_value

    AccessToken, RefreshToken = get_access_token_model(), get_refresh_token_model()
    app = get_application_model().objects.get(client_id=settings.SANDBOX_CLIENT_ID)
    expires = timezone.now() + timedelta(seconds=settings.OAUTH2_PROVIDER["ACCESS_TOKEN_EXPIRE_SECONDS"])
    issued = []
    with transaction.atomic():
        for _ in range(count):
            access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            at = AccessToken(user=user, scope=scope, expires=expires, application=app)
            set_token_value(at, access)
            at.save()
            rt = RefreshToken(user=user, application=app, access_token=at, token_family=uuid.uuid4())
            set_token_value(rt, refresh)
            rt.save()
            issued.append((access, refresh, expires))
    return issued


def refresh_token_is_live(raw_token) -> bool:
    import hashlib

    checksum = hashlib.sha256(raw_token.encode()).hexdigest()
    return get_refresh_token_model().objects.filter(token_checksum=checksum,
                                                    revoked__isnull=True).exists()
