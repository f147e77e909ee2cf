"""What the JSON API says, as Pydantic schemas (ninja's `Schema`): its OpenAPI document is
generated from these. No schema has a field for a token, a client secret or a provider's text."""

from datetime import datetime
from typing import Literal

from ninja import Field, Path, Schema

# An integration's id in a path or a query: a positive 64-bit primary key (a larger number
# would overflow the database's integer, not miss).
MAX_ID = 2 ** 63 - 1
# Pages: `page` from 1, `page_size` up to MAX_PAGE_SIZE.
MAX_PAGE = 100_000
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


class Error(Schema):
    """Every error, whatever its status."""

    code: str = Field(description="What went wrong, for code: `not_found`, `forbidden`, "
                                  "`reauth_required`, `throttled`, ...")
    message: str = Field(description="The same in plain words, in the request's language.")
    requires_reauth: bool = Field(False, description="Only a reconnect by the user fixes this.")
    retry_after: int | None = Field(None, description="Seconds to wait before trying again.")


class Provider(Schema):
    id: str
    name: str
    description: str
    configured: bool = Field(description="An operator has set it up (else it cannot be "
                                         "connected).")
    may_connect: bool = Field(description="This request may connect an account of it.")


class LastSync(Schema):
    status: Literal["never", "ok", "error"]
    at: datetime | None


class Offers(Schema):
    """What the installed consumer apps offer for an integration."""

    sync: bool = Field(description="Sync now and its progress: `POST`/`GET "
                                   "integrations/{id}/sync`.")
    data: bool = Field(description="Synced data to read (for Business Profile: "
                                   "`integrations/{id}/gbp/...`).")


class Permissions(Schema):
    """What this request may do to the integration (the host's adapter); a refused action is a
    403."""

    view: bool
    reconnect: bool
    disconnect: bool
    remove: bool
    sync: bool
    refresh: bool
    reply: bool = Field(description="Reply to reviews (a consumer app's data, such as GBP).")


class Integration(Schema):
    id: int
    provider: str
    provider_name: str
    account: str
    status: Literal["active", "reauth_required", "disconnected"]
    status_label: str = Field(description="The status in plain words.")
    requires_reauth: bool
    reason: str | None = Field(description="The last problem in plain words, with what to do "
                                           "about it; null when there is none.")
    action: Literal["reconnect", "wait", "contact_support"] | None = Field(
        description="Who must act: the user (`reconnect`), nobody but time (`wait`), the "
                    "site's team (`contact_support`: they have been told); null when nothing "
                    "is wrong.")
    sync_failing: bool = Field(description="Connected, but the last sync failed.")
    expires_at: datetime | None = Field(description="When the current access token expires "
                                                    "(renewed before, automatically).")
    last_renewed_at: datetime | None
    scopes: list[str]
    connected_at: datetime
    last_sync: LastSync
    offers: Offers
    may: Permissions


class IntegrationPage(Schema):
    items: list[Integration]
    count: int = Field(description="How many there are in all.")
    page: int
    page_size: int


class Disconnected(Schema):
    revoked: bool = Field(description="The provider was asked to revoke the grant (false: the "
                                      "tokens were deleted here only).")
    integration: Integration


class ConnectIn(Schema):
    provider: str = Field(max_length=64)
    return_to: str | None = Field(
        None, max_length=2000,
        description="Where the provider's answer returns the browser: a path on this site, or "
                    "a URL on the origin of the host's INTEGRATIONS_API_RETURN_URL (default: "
                    "that URL, else the integrations page).")


class ReconnectIn(Schema):
    return_to: str | None = Field(None, max_length=2000)


class Authorize(Schema):
    authorize_url: str = Field(description="Send the browser here (a top-level navigation); the "
                                           "provider then returns it to `return_to` with "
                                           "`outcome`, `integration` or `code` in the query.")


class Owner(Schema):
    id: str
    name: str


class Owners(Schema):
    current: str | None = Field(description="The owner this session acts for.")
    owners: list[Owner]


class OwnerIn(Schema):
    owner: str = Field(max_length=64)


# An integration's id in a path (every endpoint of an integration, the consumers' too).
IntegrationId = Path(..., ge=1, le=MAX_ID, description="The integration's `id`.")


def errors(codes) -> dict:
    """An operation's documented error answers (`response={200: ..., **errors(READ)}`): every
    one an `Error`."""
    return {code: Error for code in codes}
