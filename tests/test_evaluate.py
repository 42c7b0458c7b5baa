"""Evaluation maths (core/evaluate.py) and ``naswot-tui evaluate`` on a real engine trace."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.stats
from typer.testing import CliRunner

from naswot_tui.core import stats
from naswot_tui.core.benchmarks import ground_truth_for
from naswot_tui.core.config import RunConfig
from naswot_tui.core.engine import Run
from naswot_tui.core.evaluate import (
    ProxyResult,
    architecture_costs,
    argmax_pick,
    compare_proxy,
    evaluate_trace,
    top_hits,
)
from naswot_tui.core.trace import read_trace
from stats_oracle import kendall_tau_b


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluate-runs")
    run = Run(RunConfig(n=12, unique=True, seed=2, batch_size=16, out_dir=str(out)))
    list(run.events())
    return read_trace(run.trace_path)


def test_evaluate_a_real_trace(trace):
    report = evaluate_trace(trace, resamples=200)
    assert report.n_archs == 12 and report.proxies == ["naswot", "params", "flops"]
    assert {"cifar10 test", "cifar10 valid", "cifar100 test", "ImageNet16-120 test",
            "cifar100 valid@12", "ImageNet16-120 valid@12"} <= {t.label for t in report.targets}
    truth = ground_truth_for("nb201")
    by_index = {s.index: s for s in trace.scores}
    indices = list(by_index)
    scores = [by_index[i].score for i in indices]
    accs = [truth.accuracy(i, "cifar10", "test") for i in indices]
    r = report.result_for("naswot", "cifar10 test")
    assert isinstance(r, ProxyResult) and r.target.dataset == "cifar10" and r.target.split == "test"
    ready = stats.rank_ready(scores)  # -inf ranks last
    assert r.kendall.value == pytest.approx(kendall_tau_b(ready, accs))
    assert r.spearman.value == pytest.approx(scipy.stats.spearmanr(ready, accs).statistic)
    for res in report.results:
        for est in (res.kendall, res.spearman):
            assert est.n == 12 and est.method.startswith("percentile bootstrap (200 resamples")
            assert est.low <= est.value <= est.high
    # the argmax is the highest-scoring architecture, reported with its accuracy
    best = max(indices, key=lambda i: by_index[i].score)
    assert r.argmax.index == best and r.argmax.acc == truth.accuracy(best, "cifar10", "test")
    assert r.regret[1] == pytest.approx(max(accs) - r.argmax.acc)
    assert 0 < r.ndcg[10] <= 1
    # params computed from our networks equal the benchmark's for the same architectures
    p = report.result_for("params", "cifar10 test")
    assert p.n == 12
    costs = architecture_costs("nb201", "cifar10", [by_index[i].arch for i in indices])
    matches = sum(round(costs[by_index[i].arch][0]) == round(truth.params(i) * 1e6) for i in indices)
    assert matches >= 11  # NB201 stores a trial mean for a few legacy cells


def test_evaluation_json_keeps_every_field(trace):
    doc = evaluate_trace(trace, resamples=50).to_json()
    json.dumps(doc, allow_nan=False)
    assert doc["n_archs"] == 12 and doc["intervals"]["resamples"] == 50
    r = next(x for x in doc["results"] if x["proxy"] == "naswot" and x["target"] == "cifar10 test")
    assert set(r) >= {"proxy", "dataset", "split", "epochs", "target", "n", "kendall_tau", "spearman_rho",
                      "top_hits", "ndcg", "regret", "argmax"}
    assert set(r["kendall_tau"]) == {"value", "ci95", "method", "n"} and r["kendall_tau"]["n"] == 12
    assert set(r["top_hits"]) == {"1%", "5%"} and set(r["ndcg"]) == {"10", "100"} and set(r["regret"]) == {"1", "10"}
    assert set(r["argmax"]) == {"acc", "best_acc", "mean_acc", "index", "arch"}


def test_top_hits_and_argmax_on_a_constructed_case():
    acc = np.arange(100, dtype=float)               # true order
    proxy = acc.copy()
    proxy[99], proxy[96] = proxy[96], proxy[99]     # the best drops to 4th place
    one, five = top_hits(proxy, acc)
    assert (one.label, one.k, one.hits, one.rate) == ("1%", 1, 0, 0.0)
    assert (five.label, five.k, five.hits, five.rate) == ("5%", 5, 5, 1.0)
    assert top_hits(-acc, acc)[1].hits == 0
    pick = argmax_pick(proxy, acc)
    assert pick.acc == 96 and pick.best_acc == 99 and pick.mean_acc == pytest.approx(49.5)


def test_minus_infinity_ranks_last():
    acc = [10.0, 50.0, 60.0, 70.0, 80.0]
    res = compare_proxy([-math.inf, 1.0, 2.0, 3.0, 4.0], acc, resamples=50)
    assert res.kendall.value == pytest.approx(1.0)
    assert res.n == 5 and res.regret[1] == 0.0


def test_cli_evaluate_json(trace):
    from naswot_tui.cli import _register_subcommands, app

    _register_subcommands()
    result = CliRunner().invoke(app, ["evaluate", str(trace.path), "--json", "--resamples", "50"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["traces"][0]["n_archs"] == 12
    flops = next(r for r in doc["traces"][0]["results"] if r["proxy"] == "flops" and r["target"] == "cifar10 test")
    assert flops["top_hits"]["5%"]["k"] == 1
    assert flops["kendall_tau"]["method"] == "percentile bootstrap (50 resamples, seed 0)"
    text = CliRunner().invoke(app, ["evaluate", str(trace.path), "--resamples", "50"])
    assert text.exit_code == 0 and "Kendall tau" in text.stdout and "0.574" in text.stdout
    assert "boot = percentile bootstrap (50 resamples" in text.stdout and "nDCG@10" in text.stdout
    bad = CliRunner().invoke(app, ["evaluate", str(trace.path.parent / "missing.jsonl")])
    assert bad.exit_code != 0


def test_large_samples_get_jackknife_intervals_on_every_pair():
    """Above the bootstrap limit the interval comes from the exact jackknife, on all n, and says so."""
    rng = np.random.default_rng(8)
    acc = rng.normal(90, 2, size=stats.BOOTSTRAP_MAX_N + 100)
    res = compare_proxy(acc + rng.normal(0, 2, size=len(acc)), acc)
    for est in (res.kendall, res.spearman):
        assert est.method == "jackknife SE, normal" and est.n == len(acc) == res.n
        assert est.low < est.value < est.high and est.high - est.low < 0.15
