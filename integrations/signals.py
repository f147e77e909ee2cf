"""Signals a host app can listen to. None of them carries a token.

- token_refreshed(sender=Integration, integration, rotated)
- reauth_required(sender=Integration, integration, owner, error_code, message): sent once, on the
  transition to `reauth_required`
- integration_connected(sender=Integration, integration, created, owner, user): `user` connected it
- integration_disconnected(sender=Integration, integration, owner, user): `user` disconnected it
  (None for an operator or a command)
"""

from django.dispatch import Signal

token_refreshed = Signal()
reauth_required = Signal()
integration_connected = Signal()
integration_disconnected = Signal()
