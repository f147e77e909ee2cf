"""The OAuth 2.0 client: the only module that speaks to token, revoke and userinfo endpoints.

Every failure becomes one typed error with a kind the token service acts on:

- `reauth`: only the user can fix it (invalid_grant, interaction_required, ...)
- `operator`: the client's credentials are wrong or expired (invalid_client, ...)
- `transient`: try again later (timeouts, connection errors, 5xx, 429, unreadable answers)

Errors carry a code and a human message scrubbed of every secret sent in the request.
"""

import base64
import binascii
import json
import re
import time
from dataclasses import dataclass, field

from oauthlib.oauth2 import WebApplicationClient

from . import http
from .errors import (OPERATOR_CODES, REAUTH_CODES, TRANSIENT_CODES, OAuthError, OperatorError,
                     ReauthError, TransientError)
from .providers import Provider
from .security import client_secrets, scrub  # noqa: F401  (re-exported: the client's vocabulary)

AADSTS = re.compile(r"AADSTS\d+")


@dataclass(repr=False)
class TokenResponse:
    access_token: str
    refresh_token: str | None
    expires_in: int | None
    scopes: list[str] | None
    token_type: str = "Bearer"
    extra: dict = field(default_factory=dict)
    # The OpenID Connect ID token's claims, when the answer carried one (its signature unchecked:
    # it came straight from the token endpoint over TLS, OpenID Connect Core 3.1.3.7).
    id_claims: dict = field(default_factory=dict)

    def __repr__(self):
        return (f"<TokenResponse refresh_token={'set' if self.refresh_token else 'none'} "
                f"expires_in={self.expires_in} scopes={self.scopes}>")


def classify(error: str, description: str, status: int, retry_after=None) -> OAuthError:
    """An OAuth error response (RFC 6749 section 5.2) as a typed error."""
    message = description.strip().splitlines()[0][:300] if description.strip() else error
    if aadsts := AADSTS.search(description):
        message = f"{aadsts.group(0)}: {message}" if aadsts.group(0) not in message else message
    if error in REAUTH_CODES:
        return ReauthError(error, message, status=status)
    if error in OPERATOR_CODES:
        return OperatorError(error, message, status=status)
    return TransientError(error if error in TRANSIENT_CODES else f"oauth_{error}"[:64], message,
                          status=status, retry_after=retry_after)


# What reading a provider's answer may raise besides our own typed errors: broken or deeply
# nested JSON (RecursionError), bytes that are no text (UnicodeDecodeError, a ValueError), a
# value of the wrong type where a string was expected.
UNREADABLE = (ValueError, TypeError, RecursionError)


def parse_json(response):
    """The answer's JSON, or None when it is not JSON we can read (broken, not text, nested
    deeper than the parser goes)."""
    try:
        return json.loads(response.content)
    except UNREADABLE:
        return None


def malformed(response, exc) -> TransientError:
    """An answer that could not be read at all: transient (a provider's front end answering
    something odd), with the kind of failure, never the answer's text."""
    return TransientError("malformed_response", f"The provider's answer ({response.status_code}) "
                                                f"could not be read ({type(exc).__name__}).",
                          status=response.status_code)


def parsed(response, parse, *args):
    """`parse(response, *args)`, with anything unforeseen it raises while reading the answer
    (not our typed errors) turned into a transient `malformed_response`."""
    try:
        return parse(response, *args)
    except OAuthError:
        raise
    except UNREADABLE as exc:
        raise malformed(response, exc) from None


def error_from_response(response, secrets) -> OAuthError:
    body = parse_json(response)
    retry_after = http.retry_after_seconds(response.headers.get("Retry-After"))
    status = response.status_code
    if status == 429:
        return TransientError("rate_limited", "The provider asked us to slow down (429).",
                              status=status, retry_after=retry_after)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        # Every provider-supplied string is scrubbed, the error code too: it ends up in logs,
        # last_error_code, the history, admin and --json output.
        error = error_code(scrub(body["error"], secrets))
        description = body.get("error_description")
        description = description if isinstance(description, str) else ""
        return classify(error, scrub(description, secrets), status, retry_after)
    if status >= 500:
        return TransientError(f"http_{status}", f"The provider answered {status}.", status=status,
                              retry_after=retry_after)
    kind = "not JSON" if body is None else "JSON without the expected fields"
    ctype = response.headers.get("Content-Type", "unknown").split(";")[0].strip()
    ctype = ctype if re.fullmatch(r"[\w.+-]{1,40}/[\w.+-]{1,60}", ctype) else "unknown"
    return TransientError("malformed_response",
                          f"The provider answered {status} with {kind} ({ctype}).", status=status)


def error_code(value: str) -> str:
    """An OAuth error code as we store it: RFC 6749's printable ASCII, one line, 40 chars at
    most (a code is a short token; anything else is not one to keep)."""
    value = "".join(c for c in value if " " <= c <= "~" and c not in '"\\').strip()
    return value[:40] or "unknown_error"


def parse_scopes(value) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [s for s in re.split(r"[\s,]+", value) if s]
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return value
    return None


MAX_EXPIRES_IN = 365 * 24 * 3600


def parse_expires_in(value) -> int | None:
    """Seconds, clamped to 0..one year: a provider's `1e12` or `-5` must not break a run.
    None (the provider did not say) when absent or not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return int(min(max(seconds, 0), MAX_EXPIRES_IN))


def parse_token_type(value) -> str:
    """"Bearer" unless the provider names a short, printable type (the column holds 32)."""
    if isinstance(value, str) and 0 < len(value) <= 32 and value.isprintable():
        return value
    return "Bearer"


def parse_token_response(response, secrets) -> TokenResponse:
    body = parse_json(response)
    ok = response.status_code == 200 and isinstance(body, dict)
    if not ok or not isinstance(body.get("access_token"), str) or not body["access_token"]:
        raise error_from_response(response, secrets)
    expires_in = parse_expires_in(body.get("expires_in"))
    refresh_token = body.get("refresh_token")
    known = {"access_token", "refresh_token", "expires_in", "scope", "token_type"}
    return TokenResponse(
        access_token=body["access_token"],
        refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
        expires_in=expires_in,
        scopes=parse_scopes(body.get("scope")),
        token_type=parse_token_type(body.get("token_type")),
        extra={k: v for k, v in body.items() if k not in known and k != "id_token"},
        id_claims=id_token_claims(body.get("id_token")),
    )


def id_token_claims(value) -> dict:
    """The claims of a JWT's payload, or {} when there is none that can be read."""
    if not isinstance(value, str) or value.count(".") != 2:
        return {}
    payload = value.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (*UNREADABLE, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def identity(provider: Provider, token: TokenResponse) -> dict:
    """The account a new grant is for, {"id", "name"}: from the provider's userinfo endpoint, or
    from the ID token of the token answer (Provider.identity_source)."""
    if provider.identity_source != "id_token":
        return userinfo(provider, token.access_token)
    claims = token.id_claims
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    expires = claims.get("exp")
    if not claims or provider.client_id not in audiences or not isinstance(expires, (int, float)) \
            or expires < time.time() - 300:
        raise TransientError("malformed_id_token", "The provider's answer has no usable ID token "
                                                   "(missing, for another client, or expired).")
    return account(claims, provider, [token.access_token, *client_secrets(provider)])


def _client_auth(provider: Provider, data: dict) -> dict:
    """Client authentication as the provider wants it: in the body, or HTTP Basic."""
    if provider.client_auth == "basic":
        return {"auth": (provider.client_id, provider.client_secret)}
    data.update(client_id=provider.client_id, client_secret=provider.client_secret)
    return {}


def _post_token(provider: Provider, data: dict, secrets) -> TokenResponse:
    kwargs = _client_auth(provider, data)
    try:
        response = http.request("POST", provider.token_url, data=data,
                                headers={"Accept": "application/json"}, **kwargs)
    except http.NetworkError as exc:
        raise TransientError(exc.code, f"No answer from the provider ({exc.code}).") from None
    return parsed(response, parse_token_response, [*secrets, *client_secrets(provider)])


def authorization_url(provider: Provider, redirect_uri: str, state: str,
                      code_verifier: str | None) -> str:
    client = WebApplicationClient(provider.client_id)
    extra = dict(provider.authorize_params)
    if code_verifier:
        extra.update(code_challenge=client.create_code_challenge(code_verifier, "S256"),
                     code_challenge_method="S256")
    return client.prepare_request_uri(provider.authorize_url, redirect_uri=redirect_uri,
                                      scope=list(provider.scopes), state=state, **extra)


def new_code_verifier() -> str:
    return WebApplicationClient(None).create_code_verifier(64)


def exchange_code(provider: Provider, code: str, redirect_uri: str,
                  code_verifier: str | None) -> TokenResponse:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        data["code_verifier"] = code_verifier
    return _post_token(provider, data, [code, code_verifier])


def refresh(provider: Provider, refresh_token: str) -> TokenResponse:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return _post_token(provider, data, [refresh_token])


def revoke(provider: Provider, token: str, token_type_hint: str) -> bool:
    """RFC 7009 revocation (and Google's). True when the provider confirmed it."""
    if not provider.revoke_url:
        return False
    data = {"token": token, "token_type_hint": token_type_hint}
    kwargs = _client_auth(provider, data) if provider.revoke_client_auth else {}
    try:
        response = http.request("POST", provider.revoke_url, data=data, **kwargs)
    except http.NetworkError:
        return False
    return response.status_code == 200


def userinfo(provider: Provider, access_token: str) -> dict:
    """The account behind a token: {"id": ..., "name": ...} read from the provider's userinfo."""
    if not provider.userinfo_url:
        raise OperatorError("no_userinfo_url", "The provider declares no userinfo_url.")
    try:
        response = http.request("GET", provider.userinfo_url,
                                headers={"Authorization": f"Bearer {access_token}",
                                         "Accept": "application/json"})
    except http.NetworkError as exc:
        raise TransientError(exc.code, f"No answer from the provider ({exc.code}).") from None
    return parsed(response, parse_userinfo, provider, access_token)


def parse_userinfo(response, provider: Provider, access_token: str) -> dict:
    body = parse_json(response)
    secrets = [access_token, *client_secrets(provider)]
    if response.status_code != 200 or not isinstance(body, dict):
        raise error_from_response(response, secrets)
    return account(body, provider, secrets)


def account(claims: dict, provider: Provider, secrets) -> dict:
    """{"id", "name"} of the account a grant is for, from userinfo or an ID token's claims: the
    id from `provider.id_field` (never one of the secrets sent), the name from `name_field`, the
    email or the name claim (else the id), scrubbed and cut to its column."""
    account_id = identity_id(claims.get(provider.id_field), provider.id_field)
    if account_id in secrets:
        raise TransientError("malformed_userinfo",
                             f"The provider's user info has an unusable {provider.id_field!r}.")
    name = next((v for v in (claims.get(provider.name_field), claims.get("email"),
                             claims.get("name")) if isinstance(v, str) and v.strip()), account_id)
    return {"id": account_id, "name": scrub(" ".join(name.split()), secrets)[:255]}


MAX_ID_LENGTH = 255  # Integration.external_id


def identity_id(value, field_name: str) -> str:
    """The account id from userinfo: a non-empty string or an integer that fits the column.
    Anything else (an object, a list, a boolean, 400 characters) is refused, never stored."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        what = "no" if value in (None, "") else "an unusable"
        raise TransientError("malformed_userinfo",
                             f"The provider's user info has {what} {field_name!r}.")
    if len(value) > MAX_ID_LENGTH or not value.isprintable():
        raise TransientError("malformed_userinfo",
                             f"The provider's user info has an unusable {field_name!r} "
                             f"({len(value)} characters).")
    return value
