"""How long a sanction lasts by default, and how far a reviewer may change it (R11.1-R11.3): data, with
defaults overridable in settings (as ``moderation.rules`` does for the queue).

Penalties escalate with the target's history (DOMAIN.md: first short, repeat longer, over a six-month
history): the default of a measure is the ladder's step for the number of the target's sanctions that
took effect in the last ``MODERATION_SANCTION_HISTORY_DAYS`` (reversed and refused ones do not count); past
the last step the last one repeats. ``None`` on a ladder means permanent, which needs a supervisor's
approval (four eyes) like every closure and blacklisting.

Settings (each optional; a dict setting is merged over the defaults kind by kind):

- ``MODERATION_SANCTION_HISTORY_DAYS`` (182): the history that counts.
- ``MODERATION_SANCTION_LADDER`` ({kind: [hours or None, ...]}): default durations by step; for a warning
  the hours to the rectification deadline.
- ``MODERATION_SANCTION_LIMITS`` ({kind: [min hours, max hours]}): what a reviewer may choose instead.
- ``MODERATION_SANCTION_PERMANENT_KINDS`` ([kind, ...]): the kinds that may be permanent.
- ``MODERATION_SANCTION_CREDIT_POINTS`` ([points, ...]) and ``MODERATION_SANCTION_CREDIT_POINTS_MAX``
  (200): credit taken by step, and the most a reviewer may take at once.
- ``MODERATION_APPEAL_WINDOW_DAYS`` (60): how long after a measure took effect it may be appealed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

HOUR = 1
DAY = 24 * HOUR

HISTORY_DAYS = 182
LADDER: dict[str, list[int | None]] = {
    "group_warning": [3 * DAY, 2 * DAY, 1 * DAY],  # a repeat offender gets less time to rectify
    "group_posting": [1 * DAY, 3 * DAY, 7 * DAY, 30 * DAY],
    "group_closure": [None],
    "user_level": [7 * DAY, 30 * DAY, 90 * DAY],
    "user_manage": [7 * DAY, 30 * DAY, 90 * DAY],
    "user_create": [30 * DAY, 90 * DAY, None],
    "user_mute": [1 * DAY, 3 * DAY, 7 * DAY, 30 * DAY],
    "user_suspend": [3 * DAY, 7 * DAY, 30 * DAY, None],
    "blacklist": [180 * DAY, 365 * DAY, None],
}
LIMITS: dict[str, tuple[int, int]] = {
    "group_warning": (1 * HOUR, 30 * DAY),
    "group_posting": (1 * HOUR, 90 * DAY),
    "user_level": (1 * DAY, 365 * DAY),
    "user_manage": (1 * DAY, 365 * DAY),
    "user_create": (1 * DAY, 365 * DAY),
    "user_mute": (1 * HOUR, 90 * DAY),
    "user_suspend": (1 * HOUR, 365 * DAY),
    "blacklist": (30 * DAY, 5 * 365 * DAY),
}
PERMANENT_KINDS = ("group_closure", "user_level", "user_manage", "user_create", "user_suspend", "blacklist")
# Measures that have no duration: credit points are taken once (an appeal gives them back).
UNTIMED_KINDS = ("user_credit",)
CREDIT_POINTS = [10, 20, 50]
CREDIT_POINTS_MAX = 200
APPEAL_WINDOW_DAYS = 60


def _merged(name: str, default: dict) -> dict:
    return {**default, **getattr(settings, name, {})}


def history_days() -> int:
    return int(getattr(settings, "MODERATION_SANCTION_HISTORY_DAYS", HISTORY_DAYS))


def appeal_window_days() -> int:
    return int(getattr(settings, "MODERATION_APPEAL_WINDOW_DAYS", APPEAL_WINDOW_DAYS))


def _step(ladder: list, prior: int):
    return ladder[min(max(prior, 0), len(ladder) - 1)]


def default_hours(kind: str, prior: int) -> int | None:
    """The default duration in hours (None: permanent) of the target's next measure of ``kind``, after
    ``prior`` sanctions in the history window. An untimed kind has none."""
    if kind in UNTIMED_KINDS:
        return None
    ladder = _merged("MODERATION_SANCTION_LADDER", LADDER).get(kind) or [None]
    return _step(list(ladder), prior)


def default_points(prior: int) -> int:
    return int(_step(list(getattr(settings, "MODERATION_SANCTION_CREDIT_POINTS", CREDIT_POINTS)), prior))


def points_max() -> int:
    return int(getattr(settings, "MODERATION_SANCTION_CREDIT_POINTS_MAX", CREDIT_POINTS_MAX))


def limits(kind: str) -> tuple[int, int] | None:
    """The hours a reviewer may choose for ``kind`` (None: a kind without a chosen duration)."""
    found = _merged("MODERATION_SANCTION_LIMITS", LIMITS).get(kind)
    return (int(found[0]), int(found[1])) if found else None


def may_be_permanent(kind: str) -> bool:
    return kind in tuple(getattr(settings, "MODERATION_SANCTION_PERMANENT_KINDS", PERMANENT_KINDS))


@dataclass(frozen=True)
class Defaults:
    """What the measures form starts from for one target and kind."""

    prior: int  # the target's sanctions that took effect in the history window
    hours: int | None  # None: permanent (or untimed)
    points: int

    @property
    def permanent(self) -> bool:
        return self.hours is None
