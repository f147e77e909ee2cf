"""The connect flow's one-time states, kept in the session.

Each flow (several may run at once, in tabs) stashes a small dict under a random state: who
started it, for which provider, its PKCE verifier, where to go afterwards. A state is popped on
use and expires after ten minutes; at most a few are kept.
"""

import secrets
import time

from django.utils.translation import gettext_noop

SESSION_KEY = "integrations_oauth_states"
MAX_STATES = 5
LIFETIME_SECONDS = 600


class StateError(Exception):
    """Why a callback's state is refused: its text in English (for the log), marked for
    translation (the connect error page shows it translated: `gettext(str(exc))`)."""

    def __init__(self, message, status=403):
        self.status = status
        super().__init__(message)


def new_state(request, provider_id, *, code_verifier, next_url="", integration_id=None,
              owner_id=None, api_return="") -> str:
    state = secrets.token_urlsafe(32)
    states = dict(request.session.get(SESSION_KEY, {}))
    states[state] = {
        "provider": provider_id,
        "user": str(request.user.pk),  # any primary key (a UUID is not JSON)
        "verifier": code_verifier,
        "created": time.time(),
        "next": next_url,
        "integration": integration_id,
        # Whose integration it becomes: the owner the user acted for when the flow began (a
        # switch of owner in another tab meanwhile changes nothing).
        "owner": None if owner_id is None else str(owner_id),
        # Started through the JSON API: the callback returns the browser to this frontend URL
        # with the outcome in its query, instead of a page of ours with a message.
        "api_return": api_return,
    }
    # Keep the newest few: an abandoned tab should not grow the session forever.
    newest = sorted(states.items(), key=lambda kv: kv[1]["created"])[-MAX_STATES:]
    request.session[SESSION_KEY] = dict(newest)
    return state


def pop_state(request, state: str, provider_id: str) -> dict:
    """The flow this state belongs to, removed from the session; StateError when it is not ours."""
    states = dict(request.session.get(SESSION_KEY, {}))
    flow = states.pop(state, None) if state else None
    request.session[SESSION_KEY] = states
    if not state:
        raise StateError(gettext_noop("The provider's answer has no state parameter."),
                         status=400)
    if flow is None:
        raise StateError(gettext_noop("This sign-in answer does not belong to a connection you "
                                      "started here, or it was already used."))
    if time.time() - flow["created"] > LIFETIME_SECONDS:
        raise StateError(gettext_noop("This sign-in took longer than 10 minutes and expired."))
    if flow["provider"] != provider_id:
        raise StateError(gettext_noop("This sign-in answer came back for a different provider."))
    if flow["user"] != str(request.user.pk):
        raise StateError(gettext_noop("This sign-in was started by another user."))
    return flow
