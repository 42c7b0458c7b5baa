"""``naswot-tui compare``: the same comparison the Compare screen shows, as text or JSON."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from naswot_tui.cli import _register_subcommands, app
from naswot_tui.core.comparison import compare_paths, mean_best_so_far
from naswot_tui.core.trace import read_trace
from tui_helpers import fake_trace

_register_subcommands()


def _traces(tmp_path):
    return [fake_trace(tmp_path, n=26, seed=1), fake_trace(tmp_path, n=26, seed=2, repeats=3)]


def test_compare_json_is_one_valid_document(tmp_path):
    a, b = _traces(tmp_path)
    result = CliRunner().invoke(app, ["compare", str(a), str(b), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [r["label"] for r in doc["runs"]] == ["A", "B"]
    rows = {r["key"]: r for r in doc["rows"]}
    assert rows["seed"]["values"] == [1, 2] and rows["seed"]["differs"]
    assert not rows["space"]["differs"]
    assert rows["acc_mean"]["best"] in (["A"], ["B"])
    assert len(doc["runs"][0]["best_so_far_score"]) == 26


def test_compare_text_diff_only_and_errors(tmp_path):
    a, b = _traces(tmp_path)
    out = CliRunner().invoke(app, ["compare", str(a), str(b), "--diff-only"]).stdout
    assert "seed" in out and "hook rule" not in out
    missing = CliRunner().invoke(app, ["compare", str(a), str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    one = CliRunner().invoke(app, ["compare", str(a)])
    assert one.exit_code == 2 and "2 to 10" in one.stderr


def test_mean_best_so_far_is_monotone_and_averages_repeats(tmp_path):
    _, b = _traces(tmp_path)
    trace = read_trace(b)
    scores, _ = mean_best_so_far(trace)
    assert all(x <= y for x, y in zip(scores, scores[1:], strict=False))
    finals = [max(s.score for s in trace.scores_of(r) if s.score is not None) for r in range(3)]
    assert abs(scores[-1] - sum(finals) / 3) < 1e-9
    comp = compare_paths([b, b])
    assert not any(r.differs for r in comp.rows) and all(not r.best for r in comp.rows)


def test_fake_runs_are_timed_by_charged_time_not_the_wall_clock(tmp_path):
    """The Compare and Runs pictures show each run's time: a fake repeat's elapsed time
    is what the fake evaluator charged (FAKE_T_S per candidate), however slow the machine."""
    from naswot_tui.tui.fake import FAKE_T_S

    naswot = read_trace(fake_trace(tmp_path, n=26, seed=2, repeats=3))
    area = read_trace(fake_trace(tmp_path, n=20, seed=3, search="area", budget_evals=40))
    # NASWOT scores its N candidates; AREA scores its pool of N, then trains (looks up) the rest.
    for trace in (naswot, area):
        n = trace.header["config"]["n"]
        for repeat, end in trace.repeat_ends.items():
            assert abs(end.elapsed_s - n * FAKE_T_S) < 1e-9, (trace.path.name, repeat)
    rows = {r.key: r for r in compare_paths([naswot.path, area.path]).rows}
    assert abs(rows["duration_s"].values[0] - 3 * 26 * FAKE_T_S) < 1e-9
