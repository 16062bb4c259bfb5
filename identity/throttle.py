"""Sign-in throttling: repeated failures slow down, then lock, per account and per address.

Counters live in the cache (Redis in production), keyed by a keyed hash of the identifier, so they cost
nothing on the database and expire by themselves.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from common import crypto
from common.actors import Actor
from common.policies import PolicyDenied
from identity.idnumber import parse_mobile


def _throttle_keys(identifier: str, ip: str | None) -> list[str]:
    try:
        account = parse_mobile(identifier)  # one counter per number, however it is typed
    except ValidationError:
        account = identifier.strip().lower()
    keys = [f"login-fail:acct:{crypto.lookup_hash(account, context='login')}"]
    if ip:
        keys.append(f"login-fail:ip:{ip}")
    return keys


def login_check_allowed(*, identifier: str, ip: str | None) -> None:
    """Repeated failures slow down, then lock, per account and per address; the refusal says until when."""
    now = timezone.now().timestamp()
    wait_until = 0.0
    for key in _throttle_keys(identifier, ip):
        state = cache.get(key) or {"n": 0, "last": 0.0}
        limit = settings.LOGIN_LOCK_AFTER * (5 if key.startswith("login-fail:ip:") else 1)
        if state["n"] >= limit:
            wait_until = max(wait_until, state["last"] + settings.LOGIN_LOCK_SECONDS)
        elif state["n"] >= settings.LOGIN_SLOWDOWN_AFTER:
            wait_until = max(wait_until, state["last"] + 2 ** (state["n"] - settings.LOGIN_SLOWDOWN_AFTER))
    if wait_until > now:
        until = timezone.localtime(
            timezone.datetime.fromtimestamp(wait_until, tz=timezone.get_current_timezone())
        )
        raise PolicyDenied(
            "login_locked",
            _("Too many failed sign-ins. You may try again after %(time)s.")
            % {"time": formats.date_format(until, "H:i:s")},
        )


def login_record_failure(*, actor: Actor, identifier: str) -> None:
    now = timezone.now().timestamp()
    for key in _throttle_keys(identifier, actor.ip):
        state = cache.get(key) or {"n": 0, "last": 0.0}
        cache.set(key, {"n": state["n"] + 1, "last": now}, settings.LOGIN_FAILURE_WINDOW_SECONDS)


def login_record_success(*, identifier: str, ip: str | None) -> None:
    cache.delete(_throttle_keys(identifier, None)[0])
