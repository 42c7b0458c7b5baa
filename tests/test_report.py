"""``naswot-tui report``: the paper's Table 2 beside ours, from real traces."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from naswot_tui.core.config import RunConfig
from naswot_tui.core.engine import Run
from naswot_tui.core.report import build_report, to_markdown
from naswot_tui.core.trace import read_trace


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    out = tmp_path_factory.mktemp("report-runs")
    paths = []
    for cfg in (dict(n=10, repeats=2, batch_size=8, seed=1),
                dict(search="rea", repeats=3, budget_evals=20, seed=1)):
        run = Run(RunConfig(out_dir=str(out), **cfg))
        list(run.events())
        paths.append(run.trace_path)
    return [read_trace(p) for p in paths]


def test_table_rows_and_the_papers_numbers(traces):
    report = build_report(traces)
    ours = {r["method"]: r for r in report["rows"]}
    naswot = ours["NASWOT (N=10)"]
    assert naswot["repeats"] == 2 and naswot["search_time_s"]["kind"] == "wall"
    picks = [traces[0].repeat_ends[r].pick_acc for r in (0, 1)]
    assert naswot["accs"]["cifar10"]["test"]["mean"] == pytest.approx(sum(picks) / 2)
    delta = naswot["delta_vs_paper"]["cifar10"]["test"]
    assert delta["paper_mean"] == 92.44 and delta["delta"] == pytest.approx(sum(picks) / 2 - 92.44)
    assert delta["flag"] == (abs(delta["delta"]) > 1.13)
    rea = ours["REA [T=5]"]
    assert rea["repeats"] == 3 and rea["budget"]["kind"] == "evals"
    paper = {r["method"]: r for r in report["paper_rows"]}
    assert paper["NASWOT (N=1000)"]["accs"]["ImageNet16-120"]["test"] == {"mean": 44.44, "std": 2.10}


def test_markdown_prints_the_paper_beside_ours(traces):
    md = to_markdown(build_report(traces))
    for text in ("| NASWOT (N=10) | ours |", "| NASWOT (N=10) | paper | 500 |", "92.44 ± 1.13", "68.62 ± 2.04",
                 "41.31 ± 4.11", "Δ ours − paper", "| Benchmark best | paper |", "94.37", "REA [T=5]"):
        assert text in md, text


def test_cli_report_formats(traces):
    from naswot_tui.cli import _register_subcommands, app

    _register_subcommands()
    paths = [str(t.path) for t in traces]
    runner = CliRunner()
    md = runner.invoke(app, ["report", *paths])
    assert md.exit_code == 0 and "92.44 ± 1.13" in md.stdout
    js = runner.invoke(app, ["report", *paths, "--format", "json"])
    assert js.exit_code == 0
    doc = json.loads(js.stdout)
    assert len(doc["rows"]) == 2 and doc["paper_rows"][0]["method"] == "NASWOT (N=10)"
    bad = runner.invoke(app, ["report", *paths, "--format", "html"])
    assert bad.exit_code == 2
