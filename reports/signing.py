"""R11.4: reports are signed with HMAC-SHA256 over their canonical JSON, with a key id.

Keys come from ``REPORTS_SIGNING_KEYS`` ("kid:secret,kid2:secret2"): the first key signs, every listed key
verifies (so a key can be rotated without invalidating reports already delivered). The canonical form is
UTF-8 JSON with sorted keys and no insignificant whitespace; ``docs/report-format.md`` describes it.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ALGORITHM = "HMAC-SHA256"


def canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def keys() -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for part in (settings.REPORTS_SIGNING_KEYS or "").split(","):
        kid, sep, secret = part.strip().partition(":")
        if sep and kid and secret:
            found.setdefault(kid, secret.encode("utf-8"))
    return found


def sign(payload: dict) -> tuple[str, str]:
    """(key id, hex signature) with the first configured key."""
    configured = keys()
    if not configured:
        raise ImproperlyConfigured("REPORTS_SIGNING_KEYS has no key (expected 'kid:secret,...').")
    kid, secret = next(iter(configured.items()))
    return kid, hmac.new(secret, canonical(payload), hashlib.sha256).hexdigest()


def verify(payload: dict, *, key_id: str, signature: str) -> bool:
    secret = keys().get(key_id)
    if secret is None or not signature:
        return False
    expected = hmac.new(secret, canonical(payload), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def header(key_id: str, signature: str) -> str:
    """The value of the ``X-Report-Signature`` HTTP header."""
    return f"alg={ALGORITHM};kid={key_id};sig={signature}"
