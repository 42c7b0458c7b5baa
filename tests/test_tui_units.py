"""Pieces of the TUI without a screen: live state folding, cell parsing, theme validation."""

from __future__ import annotations

import math

import pytest

from naswot_tui.core.events import ArchScored, RepeatFinished, RepeatStarted, RunStarted
from naswot_tui.tui.fake import fake_arch
from naswot_tui.tui.state import LiveState
from naswot_tui.tui.themes import ThemeFileError, builtin_themes_dir, load_themes, parse_theme
from naswot_tui.tui.widgets.cell import EDGES, nb201_grid, nb201_ops, sss_widths


def _scored(i, score, index=None, repeat=0):
    return ArchScored(repeat, i, i if index is None else index, fake_arch(i), score, 0.1, acc=50.0 + i)


def test_top_k_is_bounded_sorted_and_one_row_per_architecture():
    state = LiveState(top_k=3, recent=2)
    state.apply([RunStarted({"config": {"n": 10, "repeats": 1}})])
    state.apply([_scored(i, float(s)) for i, s in enumerate([5, 9, 1, 9, 7, 3])])
    state.apply([_scored(6, 9.0, index=1)])  # the same network drawn again
    assert [(t.score, t.index) for t in state.top] == [(9.0, 1), (9.0, 3), (7.0, 4)]  # ties: first drawn first
    assert len(state.recent) == 2 and state.done == 7


def test_minus_inf_and_failures_count_but_never_win():
    state = LiveState()
    state.apply([_scored(0, -math.inf), ArchScored(0, 1, 1, "x", None, 0.1, error="boom"), _scored(2, 3.0)])
    assert state.errors == 1 and state.best.score == 3.0
    assert list(state.scores) == [3.0]  # the sparkline gets finite values only


def test_repeats_reset_the_table_and_collect_picks():
    state = LiveState()
    state.apply([RunStarted({"config": {"n": 2, "repeats": 2}}), _scored(0, 1.0), _scored(1, 2.0),
                 RepeatFinished(0, 1, "a", 2.0, 90.0), RepeatStarted(1, 2, "", ""), _scored(0, 0.5, repeat=1)])
    assert [t.score for t in state.top] == [0.5]
    state.apply([RepeatFinished(1, 0, "b", 0.5, 92.0)])
    mean, std = state.pick_stats()
    assert mean == pytest.approx(91.0) and std == pytest.approx(1.0)


def test_best_curve_is_thinned_not_unbounded():
    state = LiveState()
    state.apply([_scored(i, float(i % 500)) for i in range(20000)])
    assert len(state.best_curve) <= 2001 and state.best_curve[-1] == 499.0


def test_cell_parser_matches_the_space():
    nb201 = pytest.importorskip("naswot_tui.core.spaces.nb201")
    assert EDGES == nb201.EDGES
    for index in (0, 1, 777, 15624):
        arch = fake_arch(index)
        assert nb201_ops(arch) == nb201.parse_cell(arch)
    assert nb201_ops("not a cell") is None and sss_widths("8:16:24:32:64") == [8, 16, 24, 32, 64]


def test_cell_diagram_labels_every_edge():
    ops = ("nor_conv_3x3", "skip_connect", "none", "avg_pool_3x3", "nor_conv_1x1", "skip_connect")
    lines = ["".join(ch for ch, _ in row) for row in nb201_grid(ops)]
    text = "\n".join(lines)
    assert all(f"({k})" in lines[3] for k in range(4))
    assert text.count("c3x3") == 1 and text.count("skip") == 2 and text.count("none") == 1
    assert len({len(line) for line in lines}) == 1


def test_builtin_themes_are_valid_and_bad_colours_are_rejected(tmp_path):
    themes, errors = load_themes(builtin_themes_dir())
    assert {"naswot-dark", "naswot-light", "naswot-high-contrast"} <= {t.name for t in themes} and not errors
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[colors]\nprimary = "#123456"\n[variables]\nscore-best = "#12"\n')
    with pytest.raises(ThemeFileError, match="score-best"):
        parse_theme(bad)
    bad.write_text('name = "bad"\n[colors]\nprimray = "#123456"\n')
    with pytest.raises(ThemeFileError, match="unknown colour"):
        parse_theme(bad)


@pytest.mark.parametrize("arch, expect", [
    (fake_arch(1234), "(3)"),
    ("0100100001000000011010000001000001000000010000000|mp,c1,c3,mp,c3", "maxpool3x3"),
    ("8:16:64:32:40", "█"),
    ("some nds genotype string", "some nds genotype string"),
])
def test_cell_widget_draws_every_kind_of_space(arch, expect):
    """NB201 as a DAG, NB101 as lanes, NATS-sss as width bars, anything else as text."""
    from textual.app import App

    from naswot_tui.tui.themes import APP_VARIABLES
    from naswot_tui.tui.widgets.cell import CellDiagram
    from tui_helpers import sync

    class One(App):
        def get_theme_variable_defaults(self):
            return dict(APP_VARIABLES)  # the widget's CSS uses the app's colour variables

        def compose(self):
            yield CellDiagram(arch)

    @sync
    async def check():
        async with One().run_test(size=(60, 20)) as pilot:
            text = pilot.app.query_one(CellDiagram).render().plain
            assert expect in text

    check()


def test_log_lines_are_counted_and_bounded_and_reset_starts_a_new_generation():
    """The log widget writes only lines after the count it has shown; reset is a new run for every widget."""
    from naswot_tui.core.events import LogMessage, RunFinished

    state = LiveState()
    state.apply([LogMessage("info", f"line {k}") for k in range(3)])
    assert state.log_serial == 3 and state.log_since(1) == [("info", "line 1"), ("info", "line 2")]
    state.apply([LogMessage("info", f"more {k}") for k in range(300)])
    assert state.log_serial == 303 and len(state.log_since(0)) == 200  # bounded: the last 200
    state.status = "running"
    state.apply([RunFinished("cancelled", {})])
    assert state.finished.status == "cancelled" and state.status == "running"  # the worker decides
    state.end("cancelled")
    assert state.status == "cancelled"
    generation = state.generation
    state.reset("replay")
    assert state.generation == generation + 1 and state.log_serial == 0 and state.log_since(0) == []
