"""The token service's errors: what a consumer acts on. They carry ids and codes, never a token."""

from ..errors import ErrorKind


class TokenError(Exception):
    """Base of the token service's errors."""

    kind = ErrorKind.TRANSIENT

    def __init__(self, integration_id, code, message=""):
        self.integration_id = integration_id
        self.code = code
        self.message = message or code
        super().__init__(f"integration {integration_id}: {code}: {self.message}")


class ReauthRequired(TokenError):
    """Only the user can fix this: they must reconnect the account."""

    kind = ErrorKind.REAUTH


class RefreshFailed(TokenError):
    """No fresh token this time (transient, or an operator must fix the client); try later."""

    def __init__(self, integration_id, code, message="", *, kind=ErrorKind.TRANSIENT,
                 retry_after=None):
        self.kind = kind
        self.retry_after = retry_after
        super().__init__(integration_id, code, message)
