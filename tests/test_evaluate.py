"""Evaluation maths (core/evaluate.py) and ``naswot-tui evaluate`` on a real engine trace."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from naswot_tui.core.benchmarks import ground_truth_for
from naswot_tui.core.compare import kendall_tau, spearman
from naswot_tui.core.config import RunConfig
from naswot_tui.core.engine import Run
from naswot_tui.core.evaluate import (
    architecture_costs,
    argmax_pick,
    bootstrap_correlations,
    compare_proxy,
    evaluate_trace,
    result_for,
    top_hits,
)
from naswot_tui.core.trace import read_trace


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluate-runs")
    run = Run(RunConfig(n=12, unique=True, seed=2, batch_size=16, out_dir=str(out)))
    list(run.events())
    return read_trace(run.trace_path)


def test_evaluate_a_real_trace(trace):
    report = evaluate_trace(trace, resamples=200)
    assert report["n_archs"] == 12 and report["proxies"] == ["naswot", "params", "flops"]
    assert {"cifar10 test", "cifar10 valid", "cifar100 test", "ImageNet16-120 test",
            "cifar100 valid@12", "ImageNet16-120 valid@12"} <= set(report["targets"])
    truth = ground_truth_for("nb201")
    by_index = {s.index: s for s in trace.scores}
    indices = list(by_index)
    scores = [by_index[i].score for i in indices]
    accs = [truth.accuracy(i, "cifar10", "test") for i in indices]
    r = result_for(report, "naswot", "cifar10 test")
    if all(math.isfinite(s) for s in scores):  # -inf handling is tested on its own below
        assert r["kendall_tau"]["value"] == pytest.approx(kendall_tau(scores, accs))
        assert r["spearman_rho"]["value"] == pytest.approx(spearman(scores, accs))
    for res in report["results"]:
        for stat in ("kendall_tau", "spearman_rho"):
            lo, hi = res[stat]["ci95"]
            assert lo <= res[stat]["value"] <= hi
    # the argmax is the highest-scoring architecture, reported with its accuracy
    best = max(indices, key=lambda i: by_index[i].score)
    assert r["argmax"]["index"] == best and r["argmax"]["acc"] == truth.accuracy(best, "cifar10", "test")
    # params computed from our networks equal the benchmark's for the same architectures
    p = result_for(report, "params", "cifar10 test")
    assert p["n"] == 12
    costs = architecture_costs("nb201", "cifar10", [by_index[i].arch for i in indices])
    matches = sum(round(costs[by_index[i].arch][0]) == round(truth.params(i) * 1e6) for i in indices)
    assert matches >= 11  # NB201 stores a trial mean for a few legacy cells


def test_bootstrap_is_seeded_and_its_interval_holds_the_estimate():
    rng = np.random.default_rng(0)
    x = rng.normal(size=150)
    y = x + rng.normal(scale=0.8, size=150)
    y[::7] = y[0]  # ties
    a = bootstrap_correlations(x, y, resamples=300, seed=5)
    b = bootstrap_correlations(x, y, resamples=300, seed=5)
    assert a == b
    assert a["kendall_tau"]["value"] == pytest.approx(kendall_tau(x, y), abs=1e-12)
    assert a["spearman_rho"]["value"] == pytest.approx(spearman(x, y), abs=1e-12)
    for stat in ("kendall_tau", "spearman_rho"):
        lo, hi = a[stat]["ci95"]
        assert lo < a[stat]["value"] < hi and hi - lo < 0.3


def test_weighted_bootstrap_tau_equals_tau_of_the_resample():
    # the quadratic-form tau of a resample equals tau-b computed on the repeated data
    from naswot_tui.core.evaluate import _sign_matrices, _weighted_tau

    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 6, size=40).astype(float), rng.normal(size=40)
    draw = rng.integers(40, size=40)
    w = np.bincount(draw, minlength=40)[None, :]
    assert _weighted_tau(w, *_sign_matrices(x, y))[0] == pytest.approx(kendall_tau(x[draw], y[draw]), abs=1e-9)


def test_top_hits_and_argmax_on_a_constructed_case():
    acc = np.arange(100, dtype=float)               # true order
    proxy = acc.copy()
    proxy[99], proxy[96] = proxy[96], proxy[99]     # the best drops to 4th place
    hits = top_hits(proxy, acc)
    assert hits["1%"] == {"k": 1, "hits": 0, "rate": 0.0}
    assert hits["5%"] == {"k": 5, "hits": 5, "rate": 1.0}
    assert top_hits(-acc, acc)["5%"]["hits"] == 0
    pick = argmax_pick(proxy, acc)
    assert pick["acc"] == 96 and pick["best_acc"] == 99 and pick["mean_acc"] == pytest.approx(49.5)


def test_minus_infinity_ranks_last():
    acc = [10.0, 50.0, 60.0, 70.0, 80.0]
    res = compare_proxy([-math.inf, 1.0, 2.0, 3.0, 4.0], acc, resamples=50)
    assert res["kendall_tau"]["value"] == pytest.approx(1.0)
    assert res["n"] == 5


def test_cli_evaluate_json(trace):
    from naswot_tui.cli import _register_subcommands, app

    _register_subcommands()
    result = CliRunner().invoke(app, ["evaluate", str(trace.path), "--json", "--resamples", "50"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["traces"][0]["n_archs"] == 12
    assert result_for(doc["traces"][0], "flops", "cifar10 test")["top_hits"]["5%"]["k"] == 1
    text = CliRunner().invoke(app, ["evaluate", str(trace.path), "--resamples", "50"])
    assert text.exit_code == 0 and "Kendall tau" in text.stdout and "0.574" in text.stdout
    bad = CliRunner().invoke(app, ["evaluate", str(trace.path.parent / "missing.jsonl")])
    assert bad.exit_code != 0
