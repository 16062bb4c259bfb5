"""Field encryption for personal information (R6.3): AES-256-GCM with key ids, and keyed look-up hashes.

Keys come from the environment (``FIELD_ENCRYPTION_KEYS`` = ``kid:base64key,...``, the first one current;
``FIELD_HASH_KEY``). A stored token is ``kid$base64(nonce + ciphertext)``; the field's name is bound in as
associated data, so a value copied into another column does not decrypt. Old keys stay listed until
``manage.py rotate_field_keys`` has re-encrypted every value with the current one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """The token is damaged, from another field, or its key is no longer configured."""


@lru_cache(maxsize=8)
def _keyring(spec: tuple[str, ...]) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for entry in spec:
        kid, _, encoded = entry.partition(":")
        try:
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError as exc:
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: key {kid!r} is not base64") from exc
        if not kid or "$" in kid or len(key) != 32:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS entries are 'kid:<32 bytes, base64>'")
        keys[kid] = key
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty")
    return keys


def _keys() -> dict[str, bytes]:
    return _keyring(tuple(settings.FIELD_ENCRYPTION_KEYS))


def current_key_id() -> str:
    return settings.FIELD_ENCRYPTION_KEYS[0].partition(":")[0]


def encrypt(plaintext: str, *, context: str) -> str:
    kid = current_key_id()
    nonce = os.urandom(12)
    sealed = AESGCM(_keys()[kid]).encrypt(nonce, plaintext.encode("utf-8"), context.encode())
    return f"{kid}${base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt(token: str, *, context: str) -> str:
    kid, _, payload = token.partition("$")
    key = _keys().get(kid)
    if key is None or not payload:
        raise DecryptionError(f"no key {kid!r} for this value")
    try:
        raw = base64.urlsafe_b64decode(payload)
        return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode("utf-8")
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("the value does not decrypt") from exc


def key_id_of(token: str) -> str:
    return token.partition("$")[0]


def lookup_hash(value: str, *, context: str) -> str:
    """A keyed hash for uniqueness look-ups that reveals nothing without the key."""
    key = settings.FIELD_HASH_KEY.encode()
    return hmac.new(key, f"{context}\x1f{value}".encode(), hashlib.sha256).hexdigest()


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
