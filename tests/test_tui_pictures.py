"""The Live screen's pictures: braille scatter with the running tau, the tall layout, the kernel inspector."""

from __future__ import annotations

import math

import numpy as np
import pytest

from naswot_tui.core.stats import kendall
from naswot_tui.tui.app import make_app
from naswot_tui.tui.screens.kernel import KernelScreen, analyse, compute_kernel, fake_kernel
from naswot_tui.tui.widgets.braille import BRAILLE_BASE, braille_points, half_block_heatmap
from tui_helpers import fake_settings, sync, wait_until


def test_braille_points_put_each_dot_where_it_belongs():
    """Corners land in the corner cells' corner dots; y grows upwards; empty input draws blanks."""
    lines = braille_points([0.0, 1.0], [0.0, 1.0], width=4, height=2)
    assert len(lines) == 2 and all(len(line) == 4 for line in lines)
    assert ord(lines[1][0]) - BRAILLE_BASE == 0x40   # (0, 0): bottom-left dot of the bottom-left cell
    assert ord(lines[0][3]) - BRAILLE_BASE == 0x08   # (1, 1): top-right dot of the top-right cell
    assert sum(ord(c) - BRAILLE_BASE != 0 for line in lines for c in line) == 2
    assert braille_points([], [], 3, 1) == [chr(BRAILLE_BASE) * 3]


def test_half_block_heatmap_colours_follow_values():
    """A 2x2 matrix on 2x1 cells: top pixels from row 0, bottom from row 1; low values dark, high bright."""
    lines = half_block_heatmap([[0.0, 1.0], [1.0, 0.0]], width=2, height=1, lo=0.0, hi=1.0)
    assert len(lines) == 1 and lines[0].plain == "▀▀"
    spans = lines[0].spans
    (r0, g0, _), (r1, g1, _) = (spans[k].style.color.triplet for k in (0, 1))
    assert g1 > g0  # value 1 is brighter than value 0 on the ramp


def test_analyse_finds_identical_codes_and_explains_minus_inf():
    """Two images with one code make equal rows of K: the score is -inf and the reason names them."""
    rng = np.random.default_rng(0)
    codes = (rng.random((6, 40)) < 0.5).astype(float)
    codes[4] = codes[1]
    kernel = codes @ codes.T + (1 - codes) @ (1 - codes).T
    report = analyse(0, "x", kernel, [], [c.tobytes() for c in codes])
    assert report.score == -math.inf
    assert report.code_groups == [[1, 4]] and report.row_groups == [[1, 4]]
    assert any("images 1, 4" in r for r in report.why_singular())
    regular = fake_kernel(3, "x", 16)
    assert math.isfinite(regular.score) and regular.why_singular() == []


def test_compute_kernel_is_the_runs_kernel_on_a_real_nb201_cell():
    """Real NB201 on 8 synthetic images: the score equals the engine's; the all-none cell is -inf, explained."""
    from naswot_tui.core.config import RunConfig
    from naswot_tui.core.engine import Run

    config = RunConfig(space="nb201", n=2, repeats=1, seed=3, data="synthetic", batch_size=8, device="cpu",
                       cache=False, out_dir=None)
    run = Run(config)
    run.prepare()
    ev = run.evaluator
    ev.begin_repeat(0)
    index = 1234
    scored = ev(0, 0, index)
    report = compute_kernel(config.to_dict(), index, scored.arch, repeat=0)
    assert report.score == pytest.approx(scored.score, abs=1e-9)
    assert report.layers and all(0.0 <= layer.active <= 1.0 for layer in report.layers)
    none_arch = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    dead = compute_kernel(config.to_dict(), ev.space.index(none_arch), none_arch)
    assert dead.score == -math.inf
    assert dead.code_groups == [list(range(8))]
    assert any("identical binary codes" in r for r in dead.why_singular())


async def _mid_run(app, pilot, done: int = 50) -> None:
    await pilot.press("ctrl+r")
    await wait_until(pilot, lambda: app.state.done == done and any("holding" in t for _, t in app.state.log))
    await pilot.pause()


@sync
async def test_live_scatter_shows_running_tau(tmp_path):
    """Mid-run, the scatter's tau is Kendall's tau-b of the state's (score, accuracy) points."""
    app = make_app(fake_settings(tmp_path, last={"n": 60, "repeats": 1, "seed": 5}, hold_after=50))
    async with app.run_test(size=(160, 48)) as pilot:
        await _mid_run(app, pilot)
        scatter = app.screen.query_one("#scatter")
        pairs = list(app.state.points.values())
        assert len(pairs) > 20
        assert scatter.tau == pytest.approx(kendall([p[0] for p in pairs], [p[1] for p in pairs]))
        assert f"τ {scatter.tau:.3f}" in scatter.title().plain


@sync
async def test_tall_screen_shows_more_top_rows(tmp_path):
    """At 160x48 the top-K table shows more than 10 top rows; at 80x24 it keeps top_k + recent."""
    app = make_app(fake_settings(tmp_path, last={"n": 60, "repeats": 1, "seed": 5}, hold_after=50))
    async with app.run_test(size=(160, 48)) as pilot:
        await _mid_run(app, pilot)
        table = app.screen.query_one("#top-table")
        top_rows = table.row_count - len(app.state.recent)
        assert top_rows > 10
        assert app.screen.has_class("-wide")
    app = make_app(fake_settings(tmp_path / "small", last={"n": 60, "repeats": 1, "seed": 5}, hold_after=50))
    async with app.run_test(size=(80, 24)) as pilot:
        await _mid_run(app, pilot)
        assert app.screen.query_one("#top-table").row_count <= app.settings.top_k + app.settings.recent


@sync
async def test_enter_on_top_row_opens_the_kernel_inspector(tmp_path):
    """Enter on the best row opens the inspector for that architecture; its K is computed and shown."""
    app = make_app(fake_settings(tmp_path, last={"n": 60, "repeats": 1, "seed": 5}, hold_after=50))
    async with app.run_test(size=(120, 40)) as pilot:
        await _mid_run(app, pilot)
        best = app.state.top[0]
        app.screen.query_one("#top-table").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, KernelScreen) and app.screen.report is not None)
        screen = app.screen
        assert screen.index == best.index
        stats = str(screen.query_one("#kernel-stats").render())
        assert "distinct codes" in stats and "score" in stats
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, KernelScreen))


def test_nds_picks_are_drawn_not_printed():
    """AnyNet nets draw one line per stage with its depth and width; cell nets draw each node's two ops."""
    import json

    from naswot_tui.tui.widgets.nds import nds_lines
    from nds_fixtures import ANYNET_NETS, CELL_NETS

    net = ANYNET_NETS["ResNet"][0]
    lines = ["".join(c for c, _ in line) for line in nds_lines(json.dumps(net))]
    assert len(lines) == 1 + len(net["ds"])
    for k, (d, w) in enumerate(zip(net["ds"], net["ws"], strict=True)):
        assert lines[k + 1].startswith(f"s{k + 1} " + "■" * d) and f" w{w}" in lines[k + 1]
    widest = max(net["ws"])
    assert max(line.count("█") for line in lines) == 14 and lines[1 + net["ws"].index(widest)].count("█") == 14
    cell = CELL_NETS["DARTS"][0]
    text = "\n".join("".join(c for c, _ in line) for line in nds_lines(json.dumps(cell)))
    assert "n2 = sep3(c0) + sep5(c1)" in text and "n5 = dil5(n2) + none(n4)" in text
    assert text.count("concat n2 n3 n4 n5") == 2 and "width 8 · depth 5" in text
    assert nds_lines("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|") is None
    assert nds_lines('{"ds": "nope"}') is None


def test_rates_count_only_fresh_work_over_wall_time():
    """Cache hits and replayed records have no rate; fresh scores are counted over wall time."""
    from naswot_tui.core.events import ArchScored, RunStarted
    from naswot_tui.tui.state import LiveState

    header = {"config": {"n": 100, "repeats": 1}}
    state = LiveState(top_k=3, recent=2)
    state.apply([RunStarted(header)], now=10.0)
    hits = [ArchScored(0, i, i, "a", 1.0 + i, 1e-6, extra={"cached": True}) for i in range(50)]
    state.apply(hits, now=10.1)
    assert state.cached == 50 and state.rate() is None  # 50 hits in 0.1 s is no rate at all
    fresh = [ArchScored(0, 50 + i, 50 + i, "a", 1.0, 0.5) for i in range(10)]
    state.apply(fresh, now=15.0)
    assert state.fresh == 10 and state.rate() == pytest.approx(10 / 5.0)
    assert state.eta_s() is None or state.eta_s() == pytest.approx(40 / 2.0)
    replay = LiveState(top_k=3, recent=2)
    replay.reset("replay")
    replay.apply([RunStarted(header), *[ArchScored(0, i, i, "a", 1.0, 0.5, replayed=True) for i in range(5)]],
                 now=1.0)
    assert replay.replayed == 5 and replay.rate() is None
