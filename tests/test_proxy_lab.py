"""The proxy lab wired in: ``--proxies`` in the engine and traces, ``evaluate`` / ``report`` over
every proxy with the proxy x proxy matrix, and the running tau on the Live screen."""

from __future__ import annotations

import html
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from naswot_tui.core import stats
from naswot_tui.core.config import LAB_PROXY_NAMES, RunConfig
from naswot_tui.core.data import make_batch
from naswot_tui.core.errors import UsageError
from naswot_tui.core.evaluate import evaluate_trace, format_evaluation
from naswot_tui.core.events import ArchScored, encode_score, from_record
from naswot_tui.core.proxies import PROXIES, ensemble_scores, score_proxies
from naswot_tui.core.report import build_report, to_markdown
from naswot_tui.core.scoring import init_seed
from naswot_tui.core.spaces import get_space
from naswot_tui.core.trace import read_trace
from tui_helpers import fake_settings, fake_trace, sync, wait_until

CHECK_PROXIES = ["naswot", "jacov", "synflow", "snip", "grad_norm", "zico", "swap", "meco", "params", "flops"]
CLI = [sys.executable, "-m", "naswot_tui"]


def run_cli(*args, timeout=600):
    # One torch thread, as this process has (conftest): float32 gradient sums then add up in the
    # same order in the run and in the test's direct computation.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


# ------------------------------------------------------------------ options


def test_lab_names_match_the_registry():
    assert set(LAB_PROXY_NAMES) == set(PROXIES)


def test_proxies_option_is_checked_and_the_picking_proxy_is_added():
    cfg = RunConfig(proxies="synflow, jacov", proxy="naswot").validate()
    assert cfg.proxies == "naswot,synflow,jacov" and cfg.proxy_list()[0] == "naswot"
    relu = RunConfig(proxies="synflow", hook_rule="relu").validate()
    assert relu.proxy_list() == ["naswot-relu", "synflow"]
    assert RunConfig(proxies="naswot,ensemble:jacov+synflow").validate().proxy_list()[-1] == "ensemble:jacov+synflow"
    for bad, fragment in (("naswot,bogus", "unknown proxy 'bogus'"), ("naswot,naswot", "twice"),
                          ("ensemble:naswot", "two proxies"), ("ensemble:naswot+nope", "unknown proxy 'nope'")):
        with pytest.raises(UsageError, match=fragment):
            RunConfig(proxies=bad).validate()
    assert "--proxies" in RunConfig(proxies="naswot,synflow").validate().to_cli_args()


# ------------------------------------------------------------------ records


def test_score_record_round_trips_every_proxy_value_losslessly():
    values = {"naswot": -math.inf, "synflow": 1.5e40, "zico": math.nan, "snip": None, "swap": 3.0}
    event = ArchScored(0, 0, 7, "a", 1.0, 0.1, proxies=values)
    text = json.dumps(event.to_record(), allow_nan=False)  # strict JSON: no bare inf / NaN
    rec = json.loads(text)
    assert rec["proxies"]["naswot"] == encode_score(-math.inf) and rec["proxies"]["swap"] == 3.0
    back = from_record(rec)
    assert isinstance(back, ArchScored) and "proxies" not in back.extra
    assert back.proxies is not None
    assert back.proxies["naswot"] == -math.inf and math.isnan(back.proxies["zico"])
    assert back.proxies["snip"] is None and back.proxies["synflow"] == 1.5e40
    old = {k: v for k, v in rec.items() if k != "proxies"}
    assert from_record(old).proxies is None  # traces written before --proxies


def test_naswot_does_not_depend_on_the_classifier_head():
    """The engine builds 10-class networks when a label-based proxy is asked for; NASWOT must not move."""
    space, batch = get_space("nb201"), make_batch("cifar10", "embedded", batch_size=16)
    for index in (9930, 1416, 7393):
        scores = []
        for classes in (1, 10):
            torch.manual_seed(init_seed(1, index))
            scores.append(score_proxies(space.build(space.arch(index), num_classes=classes), batch, ["naswot"]))
        assert scores[0]["naswot"] == scores[1]["naswot"]


# ------------------------------------------------------------------ engine and evaluate, end to end


@pytest.fixture(scope="module")
def lab_trace(tmp_path_factory):
    """A real multi-proxy run: 8 NB201 cells, batch 16, the ten proxies of the issue's check plus an ensemble."""
    out = tmp_path_factory.mktemp("lab")
    names = ",".join(CHECK_PROXIES + ["ensemble:naswot+synflow"])
    result = run_cli("--headless", "--n", "8", "--unique", "--seed", "3", "--batch-size", "16",
                     "--proxies", names, "--json", "--out", str(out))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    return doc, read_trace(doc["trace"])


def test_every_score_record_carries_every_proxy(lab_trace):
    doc, trace = lab_trace
    assert doc["config"]["proxies"].split(",")[:len(CHECK_PROXIES)] == CHECK_PROXIES
    assert trace.header["proxies"] == CHECK_PROXIES + ["ensemble:naswot+synflow"]
    assert len(trace.scores) == 8
    for s in trace.scores:
        assert s.proxies is not None and list(s.proxies) == CHECK_PROXIES  # ensembles are not per network
        assert s.score == s.proxies["naswot"]  # the picking score is the naswot column
        assert all(v is not None for v in s.proxies.values())


def test_engine_values_equal_score_proxies_on_the_same_network(lab_trace):
    _, trace = lab_trace
    space, batch = get_space("nb201"), make_batch("cifar10", "embedded", batch_size=16)
    s = trace.scores[0]
    torch.manual_seed(init_seed(3, s.index))
    net = space.build(s.arch, num_classes=10)
    direct = score_proxies(net, batch, CHECK_PROXIES, seed=init_seed(3, s.index))
    assert s.proxies is not None
    for name in CHECK_PROXIES:
        assert s.proxies[name] == pytest.approx(direct[name], rel=1e-9, abs=0), name


def test_evaluate_reports_every_proxy_and_the_matrix(lab_trace):
    doc, trace = lab_trace
    result = run_cli("evaluate", doc["trace"], "--json", "--resamples", "50")
    assert result.returncode == 0, result.stderr
    ev = json.loads(result.stdout)["traces"][0]
    expected = CHECK_PROXIES + ["ensemble:naswot+synflow"]
    assert ev["proxies"] == expected
    for target in ("cifar10 test", "cifar100 test", "ImageNet16-120 test"):
        got = {r["proxy"]: r for r in ev["results"] if r["target"] == target}
        assert list(got) == expected
        for r in got.values():
            assert r["n"] == 8 and r["kendall_tau"]["ci95"] is not None
            assert r["spearman_rho"]["value"] is not None and r["ndcg"]["10"] is not None
    matrix = ev["proxy_kendall"]
    assert matrix["proxies"] == expected
    tau = np.array(matrix["tau"], dtype=float)
    assert tau.shape == (11, 11) and np.allclose(tau, tau.T, equal_nan=True)
    assert np.allclose(np.diag(tau), 1.0)
    cols = {n: np.array([s.proxies[n] for s in trace.scores]) for n in CHECK_PROXIES}
    a, b = expected.index("synflow"), expected.index("jacov")
    assert tau[a, b] == pytest.approx(stats.kendall(cols["synflow"], cols["jacov"]))
    # The ensemble is the rank aggregation of the stored columns.
    ens = ensemble_scores(cols, "ensemble:naswot+synflow")
    accs = [s.acc for s in trace.scores]
    c10 = next(r for r in ev["results"] if r["proxy"] == "ensemble:naswot+synflow" and r["target"] == "cifar10 test")
    assert c10["kendall_tau"]["value"] == pytest.approx(stats.kendall(ens, accs))


def test_evaluate_text_and_report_show_the_lab(lab_trace):
    _, trace = lab_trace
    ev = evaluate_trace(trace, resamples=50)
    text = format_evaluation(ev)
    assert "proxy x proxy Kendall tau-b" in text and "ensemble:naswot+synflow" in text
    report = build_report([trace])
    lab = report["proxy_lab"]
    assert {r["proxy"] for r in lab} == set(CHECK_PROXIES + ["ensemble:naswot+synflow"])
    jacov = next(r for r in lab if r["proxy"] == "jacov" and r["dataset"] == "cifar10")
    assert jacov["paper_kendall_tau"] == 0.616  # VKDNW Table 1
    assert "### Proxy lab" in to_markdown(report)


def test_missing_or_nan_values_rank_last_with_a_note(tmp_path):
    from naswot_tui.core.benchmarks import ground_truth_for

    truth = ground_truth_for("nb201")  # what evaluate reads for this trace's space
    src = fake_trace(tmp_path, n=12, seed=1)
    lines = []
    for line in src.read_text().splitlines():
        rec = json.loads(line)
        if rec["type"] == "score" and rec.get("score") is not None:
            acc = truth.accuracy(rec["index"], "cifar10", "test")
            value = None if rec["i"] == 0 else {"score": None, "score_nan": True} if rec["i"] == 1 else acc
            rec["proxies"] = {"naswot": rec["score"], "oracle": value}
        lines.append(json.dumps(rec))
    path = tmp_path / "nan.jsonl"
    path.write_text("\n".join(lines) + "\n")
    ev = evaluate_trace(read_trace(path), baselines=(), resamples=20)
    assert "oracle" in ev.proxies and any(n.startswith("oracle: 2 of") for n in ev.notes)
    r = ev.results[[x.proxy for x in ev.results].index("oracle")]
    assert r.kendall.value is not None and 0.5 < r.kendall.value < 1.0


@pytest.mark.slow
def test_the_issue_check_line(tmp_path):
    """The issue's check exactly: 20 cells, the standard batch of 128, ten proxies."""
    result = run_cli("--headless", "--n", "20", "--proxies", ",".join(CHECK_PROXIES), "--json",
                     "--out", str(tmp_path), timeout=1800)
    assert result.returncode == 0, result.stderr
    trace = read_trace(json.loads(result.stdout)["trace"])
    assert all(s.proxies is not None and set(s.proxies) == set(CHECK_PROXIES) for s in trace.scores)
    ev = run_cli("evaluate", str(trace.path), "--json")
    assert ev.returncode == 0, ev.stderr
    doc = json.loads(ev.stdout)["traces"][0]
    assert set(CHECK_PROXIES) <= set(doc["proxies"]) and doc["proxy_kendall"]["tau"]


def test_the_shipped_measurement_trace_round_trips():
    """benchmarks/results/proxy_lab: the README's measurement, every record decoded and re-encoded unchanged."""
    from pathlib import Path

    from naswot_tui.core.events import to_record

    folder = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "proxy_lab"
    traces = sorted(folder.glob("*.jsonl"))
    assert traces
    for path in traces:
        records = [json.loads(line) for line in path.read_text().splitlines()]
        for rec in records:
            assert to_record(from_record(rec)) == rec
        trace = read_trace(path)
        assert trace.status in ("completed", "cancelled") and len(trace.scores) >= 200
        assert all(s.proxies is not None and len(s.proxies) == 14 for s in trace.scores)


# ------------------------------------------------------------------ Live screen


def _lab_replay_trace(folder):
    """A fake (torch-free) trace whose score records carry three proxies, one of them an oracle."""
    src = fake_trace(folder, n=60, seed=1)
    lines = []
    for line in src.read_text().splitlines():
        rec = json.loads(line)
        if rec["type"] == "header":
            rec["proxies"] = ["naswot", "oracle", "inverse"]
        if rec["type"] == "score" and rec.get("acc") is not None:
            rec["proxies"] = {"naswot": rec["score"], "oracle": rec["acc"], "inverse": -rec["acc"]}
        lines.append(json.dumps(rec))
    src.write_text("\n".join(lines) + "\n")
    return src


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
@sync
async def test_live_screen_shows_each_proxys_running_tau(tmp_path, monkeypatch, size):
    from naswot_tui.tui.app import make_app
    from naswot_tui.tui.widgets.proxy_tau import ProxyTau, running_taus

    monkeypatch.chdir(tmp_path)
    trace = _lab_replay_trace(tmp_path / "runs")
    settings = fake_settings(tmp_path)
    settings.remember = False
    app = make_app(settings)
    async with app.run_test(size=size) as pilot:
        app.replay_run(str(trace))
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: app.current_mode == "live" and app.state.status == "completed")
        await pilot.pause(0.1)
        widget = app.screen.query_one("#proxy-tau", ProxyTau)
        assert widget.display
        taus = running_taus(app.state)
        assert taus["oracle"] == pytest.approx(1.0) and taus["inverse"] == pytest.approx(-1.0)
        expected_naswot = stats.kendall(app.state.proxy_values["naswot"], app.state.proxy_accs)
        assert taus["naswot"] == pytest.approx(expected_naswot)
        screen = html.unescape(app.export_screenshot()).replace("\xa0", " ")
        if size[0] < 120:  # compact: one line of "name tau" pairs
            assert "oracle 1.00" in screen and "inverse -1.00" in screen and "n=" in screen
        else:  # the table: a title and one row per proxy, best first
            assert "running Kendall" in screen and "n=" in screen and "1.000" in screen and "-1.000" in screen
            assert widget.region.height >= 4


@sync
async def test_live_screen_without_proxies_hides_the_widget(tmp_path, monkeypatch):
    from naswot_tui.tui.app import make_app
    from naswot_tui.tui.widgets.proxy_tau import ProxyTau

    monkeypatch.chdir(tmp_path)
    trace = fake_trace(tmp_path / "runs", n=20, seed=2)
    settings = fake_settings(tmp_path)
    settings.remember = False
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        app.replay_run(str(trace))
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: app.current_mode == "live" and app.state.status == "completed")
        assert not app.screen.query_one("#proxy-tau", ProxyTau).display
