"""Encrypted model fields over a list of keys that can change while the process runs.

django-fernet-fields-v2 reads FERNET_KEYS once per field and raises on a row it cannot decrypt.
Here the keys are INTEGRATIONS_FERNET_KEYS (so they never collide with a host's own FERNET_KEYS),
read from settings on use (so rotation and tests see the current list), and a
row that no key decrypts reads as an `Undecryptable` value instead of crashing admin, pages and
commands. Saving an `Undecryptable` value writes its ciphertext back unchanged: nothing is lost if
the missing key is restored.
"""

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured
from fernet_fields import EncryptedTextField as _EncryptedTextField
from fernet_fields import hkdf

from .conf import settings


class Undecryptable:
    """What an encrypted field holds when none of the configured keys decrypts it."""

    __slots__ = ("ciphertext",)

    def __init__(self, ciphertext: bytes):
        self.ciphertext = ciphertext

    def __repr__(self):
        return "<undecryptable>"

    __str__ = __repr__

    def __eq__(self, other):
        return isinstance(other, Undecryptable) and other.ciphertext == self.ciphertext

    def __hash__(self):
        return hash(self.ciphertext)


def is_undecryptable(value) -> bool:
    return isinstance(value, Undecryptable)


@functools.lru_cache(maxsize=16)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(hkdf.derive_fernet_key(key)) for key in keys])


def current_fernet() -> MultiFernet:
    keys = tuple(settings.INTEGRATIONS_FERNET_KEYS or ())
    if not keys:
        raise ImproperlyConfigured(
            "INTEGRATIONS_FERNET_KEYS is empty: set it to one or more long random strings, "
            "newest first."
        )
    return _multi_fernet(keys)


class EncryptedTextField(_EncryptedTextField):
    """A Fernet-encrypted text field (newest key encrypts, all keys decrypt)."""

    @property
    def fernet(self):
        return current_fernet()

    def get_db_prep_save(self, value, connection):
        if isinstance(value, Undecryptable):
            return connection.Database.Binary(value.ciphertext)
        return super().get_db_prep_save(value, connection)

    def from_db_value(self, value, expression, connection, *args):
        try:
            return super().from_db_value(value, expression, connection, *args)
        except InvalidToken:
            return Undecryptable(bytes(value))
