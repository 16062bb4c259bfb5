"""Sign-in throttling: repeated failures slow down, then lock, per account and per address.

Counters live in the cache (Redis in production) and grow with atomic ``incr``. The account counter is
keyed by the account itself when it exists, so its phone number, its name and any spelling of either
share one counter; an unknown identifier is keyed by its keyed hash. The authentication backend applies
the throttle, so every sign-in door (the sign-in page, the admin) is covered.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from common import crypto
from common.policies import PolicyDenied


def _keys(identifier: str, ip: str | None) -> list[tuple[str, int]]:
    """(counter key, failures before lock) for the account and for the address."""
    from identity.selectors import user_get_by_login

    user = user_get_by_login(identifier or "")
    account = (
        f"id:{user.pk}"
        if user
        else crypto.lookup_hash((identifier or "").strip().casefold(), context="login")
    )
    keys = [(f"login-fail:acct:{account}", settings.LOGIN_LOCK_AFTER)]
    if ip:
        keys.append((f"login-fail:ip:{ip}", settings.LOGIN_LOCK_AFTER * 5))
    return keys


def login_check_allowed(*, identifier: str, ip: str | None) -> None:
    """Refuse while a lock or a slow-down is in force; the refusal says until when."""
    now = timezone.now().timestamp()
    wait_until = 0.0
    for key, lock_after in _keys(identifier, ip):
        failures = cache.get(key) or 0
        last = cache.get(f"{key}:last") or 0.0
        if failures >= lock_after:
            wait_until = max(wait_until, last + settings.LOGIN_LOCK_SECONDS)
        elif failures >= settings.LOGIN_SLOWDOWN_AFTER:
            wait_until = max(wait_until, last + 2 ** (failures - settings.LOGIN_SLOWDOWN_AFTER))
    if wait_until > now:
        until = timezone.localtime(datetime.datetime.fromtimestamp(wait_until, tz=datetime.UTC))
        raise PolicyDenied(
            "login_locked",
            _("Too many failed sign-ins. You may try again after %(time)s.")
            % {"time": formats.date_format(until, "H:i:s")},
        )


def login_record_failure(*, identifier: str, ip: str | None) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    for key, _lock_after in _keys(identifier, ip):
        cache.add(key, 0, window)
        cache.incr(key)
        cache.set(f"{key}:last", timezone.now().timestamp(), window)


def login_record_success(*, identifier: str) -> None:
    key = _keys(identifier, None)[0][0]
    cache.delete_many([key, f"{key}:last"])
