"""Signals a host app can listen to. None of them carries a token.

- token_refreshed(sender=Integration, integration, rotated)
- reauth_required(sender=Integration, integration, error_code, message): sent once, on the
  transition to `reauth_required`
- integration_connected(sender=Integration, integration, created)
- integration_disconnected(sender=Integration, integration)
"""

from django.dispatch import Signal

token_refreshed = Signal()
reauth_required = Signal()
integration_connected = Signal()
integration_disconnected = Signal()
