"""Token introspection (RFC 7662): a resource server asks whether an access token is good.

What a mail server's OAuth2 password database calls (Dovecot's `introspection_mode = post`):
`POST token=<access token>`, authenticated as a registered client (HTTP Basic, or `client_id` and
`client_secret` in the form). The answer says whose token it is by the account's address, as
userinfo does: `{"active": true, "username": <email>, "scope", "exp", "client_id"}`, or
`{"active": false}` for a token that is unknown, revoked or expired.
"""

import base64
import binascii
import hashlib
from urllib.parse import unquote_plus

from django.contrib.auth.hashers import check_password, identify_hasher
from django.http import JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider.models import get_access_token_model, get_application_model

from .api import account_email


@csrf_exempt
@require_POST
def introspect(request):
    if not _client(request):
        response = JsonResponse({"error": "invalid_client"}, status=401)
        response["WWW-Authenticate"] = 'Basic realm="sandbox"'
        return response
    token = request.POST.get("token", "")
    if not token:
        return JsonResponse({"error": "invalid_request"}, status=400)
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()  # how the toolkit finds one
    access = get_access_token_model().objects.select_related("user", "application").filter(
        token_checksum=checksum).first()
    if access is None or access.is_expired() or access.user is None:
        return JsonResponse({"active": False})
    return JsonResponse({
        "active": True,
        "username": account_email(access.user),
        "scope": access.scope,
        "exp": int(access.expires.timestamp()),
        "client_id": access.application.client_id if access.application else "",
        "token_type": "Bearer",
    })


def _client(request):
    """The registered application whose credentials the request carries, or None."""
    client_id, secret = _basic(request) or (request.POST.get("client_id", ""),
                                            request.POST.get("client_secret", ""))
    if not client_id or not secret:
        return None
    app = get_application_model().objects.filter(client_id=client_id).first()
    if app is None or not app.client_secret:
        return None
    try:
        identify_hasher(app.client_secret)
    except ValueError:  # stored in the clear
        return app if constant_time_compare(secret, app.client_secret) else None
    return app if check_password(secret, app.client_secret) else None


def _basic(request):
    kind, _, value = request.headers.get("Authorization", "").partition(" ")
    if kind.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(secret)) if sep else None
