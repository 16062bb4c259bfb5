"""How a case is ordered and when it is due (R12.1): data, with defaults overridable in settings."""

from __future__ import annotations

from django.conf import settings

from common.reasons import ReasonKind, reason_kind

# R12.1: illegal content first; then harmful, prohibited conduct, account information. Each further
# reporter raises a case by ``PER_REPORTER``, at most ``REPORTERS_MAX`` times, which never lifts one kind
# above the next (settings: MODERATION_PRIORITY_BASE, MODERATION_PRIORITY_PER_REPORTER).
PRIORITY_BASE = {"illegal": 400, "harmful": 300, "conduct": 200, "account": 100}
PRIORITY_PER_REPORTER = 5
REPORTERS_MAX = 19
# Hours to handle a case, by the strongest reason's code or kind, optionally for one target kind
# ("message:illegal"); the most specific entry wins (setting: MODERATION_DEADLINE_HOURS).
DEADLINE_HOURS = {"illegal": 24, "harmful": 72, "conduct": 48, "account": 72, "default": 72}
KIND_STRENGTH = {ReasonKind.ILLEGAL: 4, ReasonKind.HARMFUL: 3, ReasonKind.CONDUCT: 2, ReasonKind.ACCOUNT: 1}


def case_priority(category: str, complaint_count: int) -> int:
    """R12.1: the priority of a case from its strongest reason and how many have reported it."""
    base = {**PRIORITY_BASE, **getattr(settings, "MODERATION_PRIORITY_BASE", {})}
    step = int(getattr(settings, "MODERATION_PRIORITY_PER_REPORTER", PRIORITY_PER_REPORTER))
    return int(base[reason_kind(category).value]) + step * min(max(complaint_count - 1, 0), REPORTERS_MAX)


def case_deadline_hours(kind: str, category: str) -> int:
    """R12.1: hours to handle a case of this target kind and reason (most specific entry first)."""
    hours = {**DEADLINE_HOURS, **getattr(settings, "MODERATION_DEADLINE_HOURS", {})}
    category_kind = reason_kind(category).value
    for key in (f"{kind}:{category}", f"{kind}:{category_kind}", category, category_kind, "default"):
        if key in hours:
            return int(hours[key])
    return DEADLINE_HOURS["default"]


def stronger(new: str, old: str) -> bool:
    """Whether reason ``new`` is of a stronger kind than ``old`` (illegal > harmful > conduct > account)."""
    return KIND_STRENGTH[reason_kind(new)] > KIND_STRENGTH[reason_kind(old)]
