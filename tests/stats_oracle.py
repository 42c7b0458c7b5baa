"""Slow, obviously-correct statistics that tests check ``core/stats.py`` against."""

from __future__ import annotations

import math

import numpy as np


def kendall_tau_b(x, y) -> float | None:
    """Kendall's tau-b by counting every pair, O(n^2): the textbook definition.

    (C - D) / sqrt((n0 - n1)(n0 - n2)): C/D concordant/discordant pairs, n0 all
    pairs, n1/n2 pairs tied in x/in y. None below 3 pairs or a constant side.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = len(x)
    if n < 3:
        return None
    concordant = discordant = untied_x = untied_y = 0
    for i in range(n - 1):
        dx = np.sign(x[i + 1:] - x[i])
        dy = np.sign(y[i + 1:] - y[i])
        prod = dx * dy
        concordant += int((prod > 0).sum())
        discordant += int((prod < 0).sum())
        untied_x += int((dx != 0).sum())
        untied_y += int((dy != 0).sum())
    denom = math.sqrt(untied_x * untied_y)
    return None if denom == 0 else (concordant - discordant) / denom


def partner_counts(x, y) -> dict[str, np.ndarray]:
    """Per item: concordant / discordant / tied partners, by looking at every other item."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    dx = np.sign(x[None, :] - x[:, None])
    dy = np.sign(y[None, :] - y[:, None])
    np.fill_diagonal(dx, 2)  # never counted below
    np.fill_diagonal(dy, 2)
    prod = dx * dy
    return {"concordant": (prod == 1).sum(axis=1), "discordant": (prod == -1).sum(axis=1),
            "tie_x": (dx == 0).sum(axis=1), "tie_y": (dy == 0).sum(axis=1),
            "tie_xy": ((dx == 0) & (dy == 0)).sum(axis=1)}
