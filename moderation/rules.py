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


# --- the review queue ----------------------------------------------------------------------------------

# R12.1: an item's queue priority starts from a band: its reason's kind (illegal highest), or for items
# without a reason its own kind; the most specific key wins (``<item kind>:<reason kind>``, reason kind,
# item kind, "default"). Bands are 1,000 apart and every bonus together stays below 1,000, so nothing ever
# lifts an item into the next band (setting: MODERATION_QUEUE_PRIORITY_BASE).
QUEUE_PRIORITY_BASE = {
    "illegal": 4000,
    "harmful": 3000,
    "appeal": 2500,
    "conduct": 2000,
    "group_request": 1500,
    "identity_review": 1500,
    "account": 1000,
    "default": 1000,
}
# Bonuses within a band (setting: MODERATION_QUEUE_PRIORITY_WEIGHTS):
#   per_reporter × (reporters − 1), at most ``reporters`` points;
#   ``group_size`` points for a group of ``group_size_full`` members or more (in proportion below);
#   ``accuracy`` × the reporters' past accuracy (the share of their closed complaints that were upheld,
#   smoothed as (upheld + 1) / (closed + 2), averaged over the signed-in reporters; half when unknown);
#   ``escalation`` once the item is overdue and escalated.
QUEUE_PRIORITY_WEIGHTS = {
    "per_reporter": 10,
    "reporters": 300,
    "group_size": 200,
    "group_size_full": 500,
    "accuracy": 200,
    "escalation": 250,
}
# Hours to decide an item by its kind and reason; the most specific key wins (``<item kind>:<reason code>``,
# ``<item kind>:<reason kind>``, item kind, "default"). A report's deadline is its case's
# (MODERATION_DEADLINE_HOURS above). Setting: MODERATION_QUEUE_DEADLINE_HOURS.
QUEUE_DEADLINE_HOURS = {
    "held_message": 4,
    "held_message:illegal": 2,
    "group_request": 72,
    "identity_review": 48,
    "appeal": 120,
    "default": 72,
}
# A claim lapses after this many minutes, so an abandoned item comes back (MODERATION_QUEUE_CLAIM_MINUTES).
QUEUE_CLAIM_MINUTES = 30
# The queue page lists this many items (MODERATION_QUEUE_PAGE_SIZE) and counts each kind up to a cap
# (MODERATION_QUEUE_COUNT_CAP: "1000+" beyond it), so the page costs the same whatever the queue holds.
QUEUE_PAGE_SIZE = 50
QUEUE_COUNT_CAP = 1000
# The queue looks for new held messages, group requests and real-name reviews when its last look is older
# than this (MODERATION_QUEUE_SYNC_SECONDS); the periodic job looks every minute as well.
QUEUE_SYNC_SECONDS = 15
# A target's history on the item page goes back this many days (MODERATION_HISTORY_DAYS: six months).
HISTORY_DAYS = 183


def _setting(name: str, default):
    value = getattr(settings, name, default)
    return {**default, **value} if isinstance(default, dict) else value


def _most_specific(table: dict, keys) -> int:
    for key in keys:
        if key and key in table:
            return int(table[key])
    return int(table["default"])


def reporter_accuracy(records) -> float | None:
    """R12.1: the reporters' past accuracy from ``(closed, upheld)`` per signed-in reporter: each smoothed
    as (upheld + 1) / (closed + 2) (no history: one half), then averaged. None without reporters."""
    records = list(records)
    if not records:
        return None
    return sum((upheld + 1) / (closed + 2) for closed, upheld in records) / len(records)


def queue_priority(
    *,
    kind: str,
    category: str = "",
    reporters: int = 0,
    group_size: int = 0,
    accuracy: float | None = None,
    escalated: bool = False,
) -> int:
    """R12.1: an item's place in the queue from its reason (illegal highest), how many reported it, the
    group's size, the reporters' past accuracy and whether it is escalated (see the tables above)."""
    base = _setting("MODERATION_QUEUE_PRIORITY_BASE", QUEUE_PRIORITY_BASE)
    weights = _setting("MODERATION_QUEUE_PRIORITY_WEIGHTS", QUEUE_PRIORITY_WEIGHTS)
    category_kind = reason_kind(category).value if category else ""
    points = _most_specific(base, (f"{kind}:{category_kind}" if category_kind else "", category_kind, kind))
    points += min(int(weights["per_reporter"]) * max(reporters - 1, 0), int(weights["reporters"]))
    full = max(int(weights["group_size_full"]), 1)
    points += round(int(weights["group_size"]) * min(max(group_size, 0), full) / full)
    points += round(int(weights["accuracy"]) * (0.5 if accuracy is None else min(max(accuracy, 0.0), 1.0)))
    if escalated:
        points += int(weights["escalation"])
    return max(points, 0)


def queue_deadline_hours(kind: str, category: str = "") -> int:
    """R12.1: hours to decide an item of this kind and reason (most specific entry first)."""
    hours = _setting("MODERATION_QUEUE_DEADLINE_HOURS", QUEUE_DEADLINE_HOURS)
    category_kind = reason_kind(category).value if category else ""
    keys = (f"{kind}:{category}" if category else "", f"{kind}:{category_kind}" if category else "", kind)
    return _most_specific(hours, keys)


def queue_claim_minutes() -> int:
    return int(_setting("MODERATION_QUEUE_CLAIM_MINUTES", QUEUE_CLAIM_MINUTES))


def queue_page_size() -> int:
    return int(_setting("MODERATION_QUEUE_PAGE_SIZE", QUEUE_PAGE_SIZE))


def queue_count_cap() -> int:
    return int(_setting("MODERATION_QUEUE_COUNT_CAP", QUEUE_COUNT_CAP))


def queue_sync_seconds() -> float:
    return float(_setting("MODERATION_QUEUE_SYNC_SECONDS", QUEUE_SYNC_SECONDS))


def history_days() -> int:
    return int(_setting("MODERATION_HISTORY_DAYS", HISTORY_DAYS))
