"""What a user may do now, by their credit level (R7.3, R8.1): one cheap call.

``capabilities_for(user)`` costs one indexed query (the user's account) and at most one cache read a
second (the grid). The grid is cached until staff change it (the cache entry is rewritten when the change
commits, and each process re-reads it within a second), and the level is worked out at each call from the
score and any cap, so a change of score or cap takes effect at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language

from credit.models import CreditAccount, CreditCap, CreditEvent, CreditLevel

GRID_CACHE_KEY = "credit:grid"
GRID_FIELDS = (
    "number",
    "name",
    "name_en",
    "min_score",
    "max_groups_owned",
    "max_groups_joined",
    "max_group_size",
    "creatable_categories",
    "messages_per_minute",
    "may_be_admin",
    "max_upload_mb",
    "how_to_reach",
    "how_to_reach_en",
)


@dataclass(frozen=True)
class Level:
    number: int
    name: str
    name_en: str
    min_score: int
    max_groups_owned: int
    max_groups_joined: int
    max_group_size: int
    creatable_categories: tuple
    messages_per_minute: int
    may_be_admin: bool
    how_to_reach: str = ""
    how_to_reach_en: str = ""
    max_upload_mb: int = 0

    @property
    def label(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name

    @property
    def how(self) -> str:
        return self.how_to_reach_en if (get_language() or "").startswith("en") else self.how_to_reach

    def may_create_in(self, category: str) -> bool:
        return "*" in self.creatable_categories or category in self.creatable_categories


@dataclass(frozen=True)
class Capabilities:
    """The user's level and its row of the grid, as of now."""

    score: int
    level: Level
    earned_level: int  # what the score alone would give
    capped_until: datetime | None = None
    capped: bool = False

    def __getattr__(self, name):  # the grid's values read as the capabilities' own
        return getattr(self.level, name)


GRID_MEMO_SECONDS = 1.0
# This process's copy of the grid and when it was read from the cache: the grid is read before every
# message, and a change made in another process reaches this one within GRID_MEMO_SECONDS.
_grid_state: dict = {"levels": None, "read_at": 0.0}


def grid_cache_refresh() -> list[dict]:
    """Write the grid as it is now into the cache (after a change commits: a reader that fetched the
    old grid just before cannot leave it there, as a delete would let it)."""
    grid = list(CreditLevel.objects.order_by("number").values(*GRID_FIELDS))
    cache.set(GRID_CACHE_KEY, grid, 300)
    _grid_state.update(levels=None, read_at=0.0)
    return grid


def level_grid() -> list[Level]:
    now = time.monotonic()
    levels = _grid_state["levels"]
    if levels is not None and now - _grid_state["read_at"] < GRID_MEMO_SECONDS:
        return list(levels)
    grid = cache.get(GRID_CACHE_KEY)
    if grid is None:
        grid = grid_cache_refresh()
    levels = tuple(
        Level(**{**row, "creatable_categories": tuple(row["creatable_categories"] or ())}) for row in grid
    )
    _grid_state.update(levels=levels, read_at=now)
    return list(levels)


# With no grid at all (a database emptied by hand) nobody may do anything that a level grants.
NO_LEVEL = Level(0, "—", "—", 0, 0, 0, 0, (), 0, False)


def level_for_score(score: int, grid: list[Level]) -> Level:
    reached = [level for level in grid if level.min_score <= score]
    return reached[-1] if reached else (grid[0] if grid else NO_LEVEL)


def _binding_cap(account_id: int | None):
    """The lowest level cap in force, and until when that level is imposed (None: until lifted)."""
    if account_id is None:
        return None, None
    now = timezone.now()
    active = list(
        CreditCap.objects.filter(account_id=account_id)
        .filter(Q(until__isnull=True) | Q(until__gt=now))
        .values_list("level", "until")
    )
    if not active:
        return None, None
    lowest = min(level for level, _until in active)
    untils = [until for level, until in active if level == lowest]
    return lowest, (None if None in untils else max(untils))


def _account_row(user_id: int) -> dict | None:
    """The ledger's score and whether any level cap exists: plain SQL, it runs before every message."""
    accounts, caps = CreditAccount._meta.db_table, CreditCap._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.id, a.score, EXISTS (SELECT 1 FROM {caps} c WHERE c.account_id = a.id) "  # noqa: S608
            f"FROM {accounts} a WHERE a.user_id = %s",
            [user_id],
        )
        row = cursor.fetchone()
    return {"pk": row[0], "score": row[1], "has_cap": row[2]} if row else None


def capabilities_for(user) -> Capabilities:
    """R7.3: what ``user`` may do now. Users without a ledger yet stand at score 0."""
    grid = level_grid()
    row = _account_row(user.pk) if user is not None and user.pk else None
    row = row or {"pk": None, "score": 0, "has_cap": False}
    earned = level_for_score(row["score"], grid)
    level = earned
    cap, until = _binding_cap(row["pk"]) if row["has_cap"] else (None, None)
    capped = cap is not None and cap < earned.number
    if capped:
        level = next((lv for lv in reversed(grid) if lv.number <= cap), grid[0] if grid else NO_LEVEL)
    return Capabilities(
        score=row["score"],
        level=level,
        earned_level=earned.number,
        capped_until=until if capped else None,
        capped=capped,
    )


def next_level(capabilities: Capabilities) -> Level | None:
    grid = level_grid()
    return next((lv for lv in grid if lv.number > capabilities.earned_level), None)


def ledger_for(user, limit: int = 100) -> list[CreditEvent]:
    return list(
        CreditEvent.objects.filter(account__user_id=user.pk)
        .select_related("actor")
        .order_by("-created_at", "-pk")[:limit]
    )
