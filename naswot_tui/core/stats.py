"""Rank statistics, their 95% intervals, and ranking metrics: the one home of each.

Point estimates come from ``scipy.stats``:

- ``average_ranks``: ranks 1..n, ties sharing their mean rank;
- ``spearman``: Pearson correlation of the average ranks (Spearman's rho);
- ``kendall``: Kendall's tau-b (ties in either variable corrected), O(n log n).

Intervals (``kendall_estimate``, ``spearman_estimate``, ``correlations``)
use all n pairs, never a subsample, with one of two methods chosen by n:

- n <= ``BOOTSTRAP_MAX_N``: a seeded percentile bootstrap (resampling pairs);
  each resample's tau-b is exact (a quadratic form over the n x n sign
  matrices, O(n^2) per resample, so only for small n);
- n > ``BOOTSTRAP_MAX_N``: estimate +- 1.96 x the jackknife standard error.
  The n leave-one-out values of tau-b and of rho are computed exactly, in
  O(n log n), from per-item counts of concordant, discordant and tied
  partners (``_partner_counts``), so no pair matrix is ever built. Both
  statistics are smooth functions of U-statistics, for which the jackknife
  variance is consistent and the estimate is asymptotically normal; at these
  n the normal interval is accurate (tests check its coverage).

Each ``Estimate`` says which method made its interval and on how many pairs.

Ranking metrics of a proxy against accuracies (higher proxy = predicted better):

- ``ndcg_at_k``: normalised discounted cumulative gain of the proxy's
  top k, with each architecture's accuracy as its relevance (linear gain,
  log2 discount: the form of ``sklearn.metrics.ndcg_score`` that the
  zero-cost proxy literature uses);
- ``top_k_regret``: best accuracy in the sample minus the best accuracy
  among the proxy's top k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

BOOTSTRAP_MAX_N = 500      # above this, jackknife SE + normal interval
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
Z95 = 1.959963984540054    # standard normal 97.5% quantile


def _scipy_stats() -> Any:
    """scipy.stats, imported on first use: it takes about a second to load, and
    the run listing and the TUI's first frame import this module's users."""
    import scipy.stats

    stats_module: ModuleType = scipy.stats
    return stats_module


@dataclass(frozen=True)
class Estimate:
    """A statistic with its 95% interval (``low``/``high`` None when there is none)."""

    value: float | None
    low: float | None
    high: float | None
    method: str            # "percentile bootstrap (R resamples)", "jackknife SE, normal", or "none"
    n: int

    @property
    def ci95(self) -> tuple[float, float] | None:
        return None if self.low is None or self.high is None else (self.low, self.high)

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "ci95": None if self.ci95 is None else list(self.ci95),
                "method": self.method, "n": self.n}


# ------------------------------------------------------------------ point estimates


def _pair(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[Floats, Floats]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"need two 1-d sequences of one length (got {x.shape} and {y.shape})")
    return x, y


def average_ranks(values: npt.ArrayLike) -> Floats:
    """Ranks 1..n; tied values share the mean of their ranks."""
    ranks: Floats = _scipy_stats().rankdata(np.asarray(values, dtype=np.float64), method="average")
    return ranks


def rank_ready(values: npt.ArrayLike) -> Floats:
    """-inf (a valid NASWOT score) -> a finite value below every other, so ranks are unchanged."""
    array = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(array)
    if finite.all():
        return array
    floor = (array[finite].min() - 1.0) if finite.any() else 0.0
    return np.where(np.isneginf(array), floor, array)


def spearman(x: npt.ArrayLike, y: npt.ArrayLike) -> float | None:
    """Spearman's rho; None below 3 pairs or when either side is constant."""
    x, y = _pair(x, y)
    if len(x) < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return None
    return float(_scipy_stats().spearmanr(x, y).statistic)


def kendall(x: npt.ArrayLike, y: npt.ArrayLike) -> float | None:
    """Kendall's tau-b; None below 3 pairs or when either side is constant."""
    x, y = _pair(x, y)
    if len(x) < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return None
    return float(_scipy_stats().kendalltau(x, y, variant="b").statistic)


# ------------------------------------------------------------------ per-item counts (O(n log n))


def _dense(values: npt.NDArray[Any]) -> Ints:
    dense: Ints = np.unique(values, return_inverse=True)[1].astype(np.int64)
    return dense


def _smaller_before(v: Ints) -> Ints:
    """For each position k: how many earlier positions hold a strictly smaller value.

    A bottom-up merge count, vectorised per level: at width w, every element
    of a right half counts the smaller elements of its left half with one
    ``searchsorted`` over all blocks at once (block id * n + value keeps the
    blocks apart in one sorted array). log2(n) levels of O(n log n).
    """
    n = len(v)
    counts = np.zeros(n, dtype=np.int64)
    pos = np.arange(n)
    width = 1
    while width < n:
        block = pos // width
        keys = np.sort(block * n + v)
        left_keys = keys[(keys // n) % 2 == 0]
        right = block % 2 == 1
        left_block = block[right] - 1
        counts[right] += (np.searchsorted(left_keys, left_block * n + v[right], side="left")
                          - np.searchsorted(left_keys, left_block * n, side="left"))
        width *= 2
    return counts


def _count_less_in_group(group: Ints, value: Ints, n: int) -> Ints:
    """For each item: how many items of its group have a strictly smaller value."""
    keys = np.sort(group * n + value)
    less: Ints = np.searchsorted(keys, group * n + value, side="left") - np.searchsorted(keys, group * n, side="left")
    return less


def _partner_counts(x: Floats, y: Floats) -> dict[str, Ints]:
    """For each item i, how many others j are: concordant with it, discordant,
    tied with it in x (any y), in y (any x), in both; plus the counts
    ``ur`` (x_j > x_i and y_j > y_i), ``xgt_yeq`` and ``xeq_ygt``."""
    n = len(x)
    rx, ry = _dense(x), _dense(y)
    size_x, size_y = np.bincount(rx)[rx], np.bincount(ry)[ry]
    size_xy = np.unique(rx * n + ry, return_inverse=True, return_counts=True)
    tie_xy = size_xy[2][size_xy[1]] - 1
    tie_x, tie_y = size_x - 1, size_y - 1
    x_less = np.cumsum(np.bincount(rx))[rx] - size_x    # #{x_j < x_i}
    y_less = np.cumsum(np.bincount(ry))[ry] - size_y
    # Lower-left: x_j < x_i and y_j < y_i. Order by x, ties in x by y descending,
    # so an earlier item with a smaller y always has a strictly smaller x.
    order = np.lexsort((-ry, rx))
    ll = np.empty(n, dtype=np.int64)
    ll[order] = _smaller_before(ry[order])
    xeq_ylt = _count_less_in_group(rx, ry, n)   # x_j == x_i, y_j < y_i
    yeq_xlt = _count_less_in_group(ry, rx, n)   # y_j == y_i, x_j < x_i
    ul = x_less - ll - yeq_xlt                   # x_j < x_i, y_j > y_i
    lr = y_less - ll - xeq_ylt                   # x_j > x_i, y_j < y_i
    le_le = ll + yeq_xlt + xeq_ylt + tie_xy      # x_j <= x_i, y_j <= y_i (j != i)
    ur = (n - 1) - (x_less + tie_x) - (y_less + tie_y) + le_le
    return {"concordant": ll + ur, "discordant": ul + lr, "tie_x": tie_x, "tie_y": tie_y,
            "tie_xy": tie_xy, "ur": ur, "xgt_yeq": tie_y - yeq_xlt - tie_xy,
            "xeq_ygt": tie_x - xeq_ylt - tie_xy, "size_x": size_x, "size_y": size_y}


# ------------------------------------------------------------------ jackknife


def _jackknife_se(leave_one_out: Floats) -> float | None:
    loo = leave_one_out[np.isfinite(leave_one_out)]
    if len(loo) < len(leave_one_out) or len(loo) < 3:
        return None
    m = len(loo)
    return math.sqrt((m - 1) / m * float(((loo - loo.mean()) ** 2).sum()))


def kendall_leave_one_out(x: npt.ArrayLike, y: npt.ArrayLike, counts: dict[str, Ints] | None = None) -> Floats:
    """Tau-b of the data without item i, for every i, in O(n log n)."""
    x, y = _pair(x, y)
    n = len(x)
    c = _partner_counts(x, y) if counts is None else counts
    s_i = (c["concordant"] - c["discordant"]).astype(np.float64)
    s = s_i.sum() / 2
    pairs = (n - 1) * (n - 2) / 2
    ties_x = c["tie_x"].sum() / 2 - c["tie_x"]
    ties_y = c["tie_y"].sum() / 2 - c["tie_y"]
    denom = np.sqrt((pairs - ties_x) * (pairs - ties_y))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (s - s_i) / np.where(denom > 0, denom, 1), np.nan)


def _sum_ties(sizes_per_item: Ints) -> float:
    """sum over tie groups of t^3 - t, from each item's group size."""
    t = sizes_per_item.astype(np.float64)
    return float(((t ** 3 - t) / t).sum())


def spearman_leave_one_out(x: npt.ArrayLike, y: npt.ArrayLike,
                           counts: dict[str, Ints] | None = None) -> Floats:
    """Spearman's rho of the data without item i, for every i, in O(n log n).

    Removing i lowers each other item's average rank by 1 when it lies above
    i and by 1/2 when tied with it, so the cross-product of the n-1 new
    ranks follows from sums of ranks above (or tied with) i and the partner
    counts; the rank variances follow from the tie-group sizes.
    """
    x, y = _pair(x, y)
    n = len(x)
    m = n - 1
    a, b = average_ranks(x), average_ranks(y)
    c = _partner_counts(x, y) if counts is None else counts

    def above_plus_half_tied(key: Floats, r: Floats) -> Floats:
        """sum over j != i of r_j * (1[key_j > key_i] + 1/2 1[key_j == key_i])."""
        groups = _dense(key)
        group_sum = np.bincount(groups, weights=r)
        above = group_sum[::-1].cumsum()[::-1] - group_sum   # groups strictly above
        return above[groups] + 0.5 * (group_sum[groups] - r)

    sa = above_plus_half_tied(y, a)   # a_j weighted by h_ij (y_j vs y_i)
    sb = above_plus_half_tied(x, b)   # b_j weighted by g_ij (x_j vs x_i)
    gh = c["ur"] + 0.5 * c["xgt_yeq"] + 0.5 * c["xeq_ygt"] + 0.25 * c["tie_xy"]
    cross = float((a * b).sum()) - a * b - sa - sb + gh
    sxy = cross - m * (n / 2.0) ** 2
    tx, ty = _sum_ties(c["size_x"]), _sum_ties(c["size_y"])
    sx, sy = c["size_x"].astype(np.float64), c["size_y"].astype(np.float64)
    sxx = (m ** 3 - m - (tx - (sx ** 3 - sx) + ((sx - 1) ** 3 - (sx - 1)))) / 12.0
    syy = (m ** 3 - m - (ty - (sy ** 3 - sy) + ((sy - 1) ** 3 - (sy - 1)))) / 12.0
    denom = np.sqrt(np.clip(sxx, 0, None) * np.clip(syy, 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, sxy / np.where(denom > 0, denom, 1), np.nan)


def _normal_interval(value: float, se: float | None, n: int) -> Estimate:
    if se is None:
        return Estimate(value, None, None, "none", n)
    return Estimate(value, max(-1.0, value - Z95 * se), min(1.0, value + Z95 * se), "jackknife SE, normal", n)


# ------------------------------------------------------------------ bootstrap (small n)


def _bootstrap_draws(n: int, resamples: int, seed: int) -> Ints:
    return np.random.default_rng([int(seed), n]).integers(n, size=(resamples, n))


def _percentile(samples: Floats) -> tuple[float, float] | None:
    samples = samples[np.isfinite(samples)]
    if len(samples) == 0:
        return None
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return float(lo), float(hi)


def bootstrap_kendall(x: npt.ArrayLike, y: npt.ArrayLike, draws: Ints) -> Floats:
    """Tau-b of each resample (rows of ``draws`` index the pairs).

    A resample repeating pair i w_i times has sum_ij w_i w_j s_ij / 2 as
    (concordant - discordant), s_ij = sign(dx) sign(dy), and w^T |sign(dx)| w / 2
    pairs untied in x. Entries are integers below 2^24, so float32 is exact.
    """
    x, y = _pair(x, y)
    n = len(x)
    sx = np.sign(x[:, None] - x[None, :]).astype(np.float32)
    sy = np.sign(y[:, None] - y[None, :]).astype(np.float32)
    concord, untied_x, untied_y = sx * sy, np.abs(sx), np.abs(sy)
    out = []
    for start in range(0, len(draws), 250):
        chunk = draws[start:start + 250]
        w = np.zeros((len(chunk), n), dtype=np.float32)
        np.add.at(w, (np.repeat(np.arange(len(chunk)), n), chunk.ravel()), 1.0)
        num = ((w @ concord) * w).sum(axis=1, dtype=np.float64)
        dx = ((w @ untied_x) * w).sum(axis=1, dtype=np.float64)
        dy = ((w @ untied_y) * w).sum(axis=1, dtype=np.float64)
        denom = np.sqrt(dx * dy)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(np.where(denom > 0, num / np.where(denom > 0, denom, 1), np.nan))
    return np.concatenate(out) if out else np.empty(0)


def bootstrap_spearman(x: npt.ArrayLike, y: npt.ArrayLike, draws: Ints) -> Floats:
    """Spearman's rho of each resample (ranks recomputed within each resample)."""
    x, y = _pair(x, y)
    rx = _scipy_stats().rankdata(x[draws], axis=1)
    ry = _scipy_stats().rankdata(y[draws], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    denom = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (rx * ry).sum(axis=1) / np.where(denom > 0, denom, 1), np.nan)


# ------------------------------------------------------------------ estimates with intervals


def correlations(x: npt.ArrayLike, y: npt.ArrayLike, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                 bootstrap_max_n: int = BOOTSTRAP_MAX_N) -> tuple[Estimate, Estimate]:
    """(Kendall tau-b, Spearman rho), each with a 95% interval on all n pairs (see module doc)."""
    x, y = _pair(x, y)
    n = len(x)
    tau, rho = kendall(x, y), spearman(x, y)
    if tau is None or rho is None:
        return Estimate(tau, None, None, "none", n), Estimate(rho, None, None, "none", n)
    if n <= bootstrap_max_n:
        draws = _bootstrap_draws(n, resamples, seed)
        method = f"percentile bootstrap ({resamples} resamples, seed {seed})"
        out = []
        for value, samples in ((tau, bootstrap_kendall(x, y, draws)), (rho, bootstrap_spearman(x, y, draws))):
            ci = _percentile(samples)
            if ci is None:
                out.append(Estimate(value, None, None, "none", n))
            else:
                out.append(Estimate(value, ci[0], ci[1], method, n))
        return out[0], out[1]
    counts = _partner_counts(x, y)
    return (_normal_interval(tau, _jackknife_se(kendall_leave_one_out(x, y, counts)), n),
            _normal_interval(rho, _jackknife_se(spearman_leave_one_out(x, y, counts)), n))


# ------------------------------------------------------------------ ranking metrics


def ndcg_at_k(proxy: npt.ArrayLike, relevance: npt.ArrayLike, k: int) -> float | None:
    """nDCG@k of the ranking by ``proxy`` (descending), ``relevance`` as gains.

    DCG@k = sum over the proxy's positions r = 1..k of rel(r) / log2(r + 1);
    nDCG@k = DCG@k / the DCG@k of the ideal order (by relevance). Relevance
    must be >= 0 (accuracies are). Architectures tied in the proxy share the
    mean gain of their group at each of the group's positions, so the value
    does not depend on the order of the input. None when n = 0 or the ideal
    DCG is 0.
    """
    proxy, rel = _pair(proxy, relevance)
    n = len(proxy)
    if n == 0 or k < 1:
        return None
    if (rel < 0).any():
        raise ValueError("nDCG needs non-negative relevance")
    k = min(k, n)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = float((np.sort(rel)[::-1][:k] * discount).sum())
    if ideal == 0:
        return None
    order = np.argsort(-proxy, kind="stable")
    sorted_proxy, sorted_rel = proxy[order], rel[order]
    starts = np.flatnonzero(np.r_[True, sorted_proxy[1:] != sorted_proxy[:-1]])
    group_mean = np.add.reduceat(sorted_rel, starts) / np.diff(np.r_[starts, n])
    gains = np.repeat(group_mean, np.diff(np.r_[starts, n]))[:k]
    return float((gains * discount).sum()) / ideal


def top_k_regret(proxy: npt.ArrayLike, accuracy: npt.ArrayLike, k: int) -> float | None:
    """Best accuracy in the sample minus the best accuracy among the proxy's top k.

    0 means the best architecture is among the k the proxy ranks highest.
    Ties at the k-th place are broken by position (first wins), as
    ``top_hits``. None when n = 0.
    """
    proxy, acc = _pair(proxy, accuracy)
    if len(proxy) == 0 or k < 1:
        return None
    order = np.lexsort((np.arange(len(proxy)), -proxy))
    return float(acc.max() - acc[order[:k]].max())
