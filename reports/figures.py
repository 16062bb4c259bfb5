"""Figures shared by the regulator reports and the dashboard, so both count alike."""

from __future__ import annotations

import math


def nearest_rank(values: list[float], fraction: float) -> int | None:
    """Nearest-rank percentile, in whole units (seconds, where the values are seconds)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return int(ordered[rank - 1])
