"""Rank-aggregation ensembles ``ensemble:<a>+<b>+...``: a function on COLUMNS, not on one network.

An ensemble ranks a set of architectures, so it is computed from many
architectures' member-proxy values at once (``ensemble_scores``), never by
``score_proxies`` on a single network.

Rule (AZ-NAS, Lee & Ham, CVPR 2024, cvlab-yonsei/AZ-NAS): rank each member's
values over the set in ascending order (worst = 1, best = n, ties share
their average rank), and score each architecture by the sum over members of
``log(rank / n)``. The logarithm rewards being near the top of every member
more than being excellent on one. Non-finite values (NaN, -inf: a singular
NASWOT kernel, say) rank below every finite value, tied with each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from naswot_tui.core.errors import UsageError
from naswot_tui.core.proxies.registry import ENSEMBLE_PREFIX, PROXIES
from naswot_tui.core.stats import average_ranks

CITATION = ("Lee & Ham, AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search, CVPR 2024; "
            "cvlab-yonsei/AZ-NAS (sum of log-normalised ranks)")


def is_ensemble(name: str) -> bool:
    return name.startswith(ENSEMBLE_PREFIX)


def ensemble_members(name: str) -> list[str]:
    """``ensemble:a+b`` -> ``["a", "b"]``, each a registered per-network proxy."""
    if not is_ensemble(name):
        raise UsageError(f"{name!r} is not an ensemble; write {ENSEMBLE_PREFIX}<a>+<b>+...")
    members = [m.strip() for m in name[len(ENSEMBLE_PREFIX):].split("+")]
    if len(members) < 2 or not all(members):
        raise UsageError(f"ensemble {name!r} needs at least two proxies, e.g. {ENSEMBLE_PREFIX}naswot+synflow")
    unknown = [m for m in members if m not in PROXIES]
    if unknown:
        raise UsageError(f"ensemble {name!r} names unknown proxies {', '.join(unknown)}; "
                         f"choose from: {', '.join(PROXIES)}")
    if len(set(members)) != len(members):
        raise UsageError(f"ensemble {name!r} names a proxy twice")
    return members


def split_proxy_names(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """(per-network proxies to score, including every ensemble member; ensembles to aggregate)."""
    per_network: list[str] = []
    ensembles: list[str] = []
    for name in names:
        wanted = ensemble_members(name) if is_ensemble(name) else [name]
        if is_ensemble(name):
            ensembles.append(name)
        for m in wanted:
            if m not in per_network:
                per_network.append(m)
    return per_network, ensembles


def log_rank(values: Sequence[float]) -> np.ndarray:
    """log(rank / n) of each value, ascending; non-finite values tie at the bottom."""
    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    ranks = np.empty(len(v))
    n_bad = int((~finite).sum())
    ranks[~finite] = (n_bad + 1) / 2.0
    ranks[finite] = average_ranks(v[finite]) + n_bad
    return np.log(ranks / len(v))


def ensemble_scores(columns: Mapping[str, Sequence[float]], name: str) -> np.ndarray:
    """The ensemble's value for each architecture of a set, from its members' columns.

    ``columns[m][i]`` is member ``m``'s value on architecture ``i``; every
    member column must cover the same architectures in the same order.
    """
    members = ensemble_members(name)
    missing = [m for m in members if m not in columns]
    if missing:
        raise UsageError(f"ensemble {name!r} needs the columns of {', '.join(missing)}")
    lengths = {len(columns[m]) for m in members}
    if len(lengths) != 1:
        raise UsageError(f"ensemble {name!r}: member columns differ in length ({sorted(lengths)})")
    if lengths == {0}:
        return np.zeros(0)
    total: np.ndarray = np.sum([log_rank(columns[m]) for m in members], axis=0)
    return total
