"""core/stats.py: scipy-backed point estimates, exact O(n log n) jackknife, intervals, nDCG, regret."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.stats

from naswot_tui.core import stats
from stats_oracle import kendall_tau_b, partner_counts


def _tied_sample(rng, n):
    """Pairs with many ties on both sides (and ties in both at once)."""
    x = rng.integers(0, int(rng.integers(2, 8)), n).astype(float)
    y = np.round(x + rng.normal(scale=2.0, size=n))
    return x, y


def test_kendall_equals_the_quadratic_oracle_with_ties():
    rng = np.random.default_rng(0)
    for n in (3, 5, 17, 60, 301):
        x, y = _tied_sample(rng, n)
        assert stats.kendall(x, y) == pytest.approx(kendall_tau_b(x, y), abs=1e-12)
        x = rng.normal(size=n)
        assert stats.kendall(x, y) == pytest.approx(kendall_tau_b(x, y), abs=1e-12)
    assert stats.kendall([1, 2], [1, 2]) is None
    assert stats.kendall([1, 1, 1], [1, 2, 3]) is None


def test_spearman_and_ranks_equal_scipy():
    rng = np.random.default_rng(1)
    x, y = _tied_sample(rng, 200)
    assert stats.spearman(x, y) == pytest.approx(scipy.stats.spearmanr(x, y).statistic, abs=1e-12)
    assert stats.average_ranks([3.0, 1.0, 3.0, 2.0]).tolist() == [3.5, 1.0, 3.5, 2.0]
    assert stats.spearman([1, 2, 3], [5, 5, 5]) is None


def test_partner_counts_equal_counting_every_pair():
    rng = np.random.default_rng(2)
    for n in (3, 8, 33, 130):
        x, y = _tied_sample(rng, n)
        fast, slow = stats._partner_counts(x, y), partner_counts(x, y)
        for key, value in slow.items():
            assert (fast[key] == value).all(), key


def test_leave_one_out_values_are_exact():
    """The O(n log n) jackknife equals recomputing each statistic without item i."""
    rng = np.random.default_rng(3)
    for n in (4, 9, 40, 90):
        x, y = _tied_sample(rng, n)
        if n == 40:
            x = rng.normal(size=n)
        tau_loo = stats.kendall_leave_one_out(x, y)
        rho_loo = stats.spearman_leave_one_out(x, y)
        for i in range(n):
            xi, yi = np.delete(x, i), np.delete(y, i)
            expected = kendall_tau_b(xi, yi)
            assert tau_loo[i] == pytest.approx(np.nan if expected is None else expected, nan_ok=True, abs=1e-12)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rho = scipy.stats.spearmanr(xi, yi).statistic
            assert rho_loo[i] == pytest.approx(rho, nan_ok=True, abs=1e-12)


def test_bootstrap_values_are_the_statistics_of_the_resamples():
    rng = np.random.default_rng(4)
    x, y = _tied_sample(rng, 40)
    draws = rng.integers(40, size=(5, 40))
    taus, rhos = stats.bootstrap_kendall(x, y, draws), stats.bootstrap_spearman(x, y, draws)
    for d, tau, rho in zip(draws, taus, rhos, strict=True):
        assert tau == pytest.approx(kendall_tau_b(x[d], y[d]), abs=1e-9)
        assert rho == pytest.approx(scipy.stats.spearmanr(x[d], y[d]).statistic, abs=1e-9)


def test_intervals_say_their_method_and_use_every_pair():
    rng = np.random.default_rng(5)
    x = rng.normal(size=120)
    y = x + rng.normal(size=120)
    tau, rho = stats.correlations(x, y, resamples=200, seed=7)
    assert tau == stats.correlations(x, y, resamples=200, seed=7)[0]  # seeded
    assert tau.method.startswith("percentile bootstrap (200") and tau.n == 120
    assert tau.low < tau.value < tau.high and rho.low < rho.value < rho.high
    big_x = rng.normal(size=20_000)
    big_y = big_x + rng.normal(size=20_000)
    tau, rho = stats.correlations(big_x, big_y)
    assert tau.method == "jackknife SE, normal" and tau.n == 20_000
    assert tau.high - tau.low < 0.02 and tau.low < tau.value < tau.high
    assert tau.to_json() == {"value": tau.value, "ci95": [tau.low, tau.high], "method": tau.method, "n": 20_000}
    none = stats.correlations([1.0, 2.0], [2.0, 1.0])[0]
    assert none.value is None and none.ci95 is None and none.method == "none"


@pytest.mark.parametrize("n, bootstrap_max_n, sims", [(60, 500, 120), (800, 500, 200)])
def test_interval_coverage_on_normal_data(n, bootstrap_max_n, sims):
    """Bivariate normal with r = 0.6: the true tau is 2/pi asin(r), the true rho 6/pi asin(r/2).
    About 95% of the intervals must hold them (loose bounds: a small simulation)."""
    r = 0.6
    true_tau, true_rho = 2 / math.pi * math.asin(r), 6 / math.pi * math.asin(r / 2)
    rng = np.random.default_rng(11)
    hits_tau = hits_rho = 0
    for s in range(sims):
        x = rng.normal(size=n)
        y = r * x + math.sqrt(1 - r * r) * rng.normal(size=n)
        tau, rho = stats.correlations(x, y, resamples=300, seed=s, bootstrap_max_n=bootstrap_max_n)
        hits_tau += tau.low <= true_tau <= tau.high
        hits_rho += rho.low <= true_rho <= rho.high
    assert 0.88 <= hits_tau / sims <= 0.995
    assert 0.88 <= hits_rho / sims <= 0.995


def test_ndcg_on_constructed_cases():
    acc = np.array([90.0, 80.0, 70.0, 60.0])
    assert stats.ndcg_at_k(acc, acc, 2) == pytest.approx(1.0)
    # the proxy puts the worst first: DCG@2 = 60/1 + 70/log2(3)
    worst_first = -acc
    expected = (60 + 70 / math.log2(3)) / (90 + 80 / math.log2(3))
    assert stats.ndcg_at_k(worst_first, acc, 2) == pytest.approx(expected)
    # a constant proxy: every position gets the mean gain 75
    assert stats.ndcg_at_k(np.zeros(4), acc, 1) == pytest.approx(75 / 90)
    # order of the input does not matter, ties included
    proxy = np.array([1.0, 1.0, 0.0, 2.0])
    perm = np.array([2, 0, 3, 1])
    assert stats.ndcg_at_k(proxy, acc, 3) == pytest.approx(stats.ndcg_at_k(proxy[perm], acc[perm], 3))
    assert stats.ndcg_at_k(acc, acc, 100) == pytest.approx(1.0)  # k capped at n
    assert stats.ndcg_at_k([], [], 3) is None
    with pytest.raises(ValueError):
        stats.ndcg_at_k([1.0, 2.0], [-1.0, 2.0], 1)


def test_top_k_regret():
    acc = np.arange(100, dtype=float)
    proxy = acc.copy()
    proxy[99], proxy[96] = proxy[96], proxy[99]   # the best drops to 4th place
    assert stats.top_k_regret(proxy, acc, 1) == 3.0
    assert stats.top_k_regret(proxy, acc, 3) == 1.0
    assert stats.top_k_regret(proxy, acc, 4) == 0.0
    assert stats.top_k_regret(-acc, acc, 10) == 90.0
    assert stats.top_k_regret([], [], 1) is None


def test_rank_ready_puts_minus_infinity_last():
    values = stats.rank_ready([-math.inf, 1.0, 3.0])
    assert np.isfinite(values).all() and values[0] < 1.0
