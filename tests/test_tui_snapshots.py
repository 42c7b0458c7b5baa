"""SVG snapshots of the TUI, as documentation: each test's docstring says what
its picture proves. Every picture is taken at 80x24 (the smallest supported
terminal) and 160x48 (a large one), driven by the fake source (no torch) with
a frozen clock, so the pictures are the same on every machine.

Regenerate on Python 3.11 only, then look at the SVGs:
``pytest tests/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from naswot_tui.tui.app import make_app
from naswot_tui.tui.screens.compare import CompareScreen
from naswot_tui.tui.screens.confirm import ConfirmScreen
from naswot_tui.tui.screens.help import HelpScreen
from naswot_tui.tui.themes import builtin_themes_dir
from tui_helpers import fake_settings, fake_trace, wait_until

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
THEMES = sorted(p.stem for p in builtin_themes_dir().glob("*.toml"))


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    # Relative runs dir: paths shown on screen are the same on every machine.
    monkeypatch.chdir(tmp_path)
    return Path(".")


def _app(home, theme: str | None = None, **options):
    settings = fake_settings(home, **options)
    settings.remember = False
    settings.theme = theme
    return make_app(settings)


def _saved_runs(home) -> list[Path]:
    runs = home / "runs"
    paths = [fake_trace(runs, n=60, seed=1), fake_trace(runs, n=60, seed=2, repeats=3),
             fake_trace(runs, n=40, seed=3, dataset="ImageNet16-120")]
    lines = paths[2].read_text().splitlines(keepends=True)
    paths[2].write_text("".join(lines[:-2]))  # incomplete: no end, no repeat end
    for k, p in enumerate(paths):
        os.utime(p, (1_700_000_000 + k, 1_700_000_000 + k))  # fixed listing order
    return paths


async def _mid_run(app, pilot) -> None:
    """Start a run from Setup and wait until the fake source holds after 50 candidates."""
    await pilot.press("ctrl+r")
    await wait_until(pilot, lambda: app.state.done == 50 and any("holding" in t for _, t in app.state.log))


async def _runs_listed(app, pilot, n: int = 3) -> None:
    await pilot.press("f4")
    await wait_until(pilot, lambda: app.screen.query_one("#runs-table").row_count == n)


@pytest.mark.parametrize("size", SIZES)
class TestScreens:
    """The four screens in their usual state."""

    def test_setup_screen(self, snap_compare, home, size):
        """Setup shows every field, the equivalent CLI line and the keys, without torch or devices probed."""
        app = _app(home, last={"n": 30, "seed": 7, "repeats": 2})
        assert snap_compare(app, terminal_size=size)

    def test_live_screen_mid_run(self, snap_compare, home, size):
        """Live, mid-run on repeat 3 of 3: progress/ETA, sparklines, bounded top-K + recent, cell, picks, log."""
        app = _app(home, last={"n": 20, "repeats": 3, "seed": 5}, hold_after=50)

        async def run_before(pilot):
            await _mid_run(app, pilot)

        assert snap_compare(app, terminal_size=size, run_before=run_before)

    def test_runs_screen(self, snap_compare, home, size):
        """Runs lists completed and incomplete traces with status, config, best score, pick accuracy, date."""
        _saved_runs(home)
        app = _app(home)

        async def run_before(pilot):
            await _runs_listed(app, pilot)

        assert snap_compare(app, terminal_size=size, run_before=run_before)

    def test_compare_screen(self, snap_compare, home, size):
        """Compare overlays best-so-far curves with a legend, tabulates config and results side by side,
        and adds the evaluate rows (tau with 95% CI for the score, params and FLOPs; hit rate; argmax)."""
        paths = _saved_runs(home)[:2]
        app = _app(home)

        async def run_before(pilot):
            app.open_compare([str(p) for p in paths])
            await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.comparison)
            # The evaluate rows fill in from a worker: wait for them so the picture is deterministic.
            await wait_until(pilot, lambda: app.screen.evaluations, timeout=120)

        assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
class TestModals:
    """Help and the confirm question, drawn over the screen they came from."""

    def test_help_screen(self, snap_compare, home, size):
        """F1 opens one page of keys for every screen (global, Setup, Live, Runs, Compare) over Setup."""
        app = _app(home)

        async def run_before(pilot):
            await pilot.press("f1")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))

        assert snap_compare(app, terminal_size=size, run_before=run_before)

    def test_confirm_delete(self, snap_compare, home, size):
        """d on the Runs screen asks before deleting: the trace's name, y/n buttons, No focused."""
        _saved_runs(home)
        app = _app(home)

        async def run_before(pilot):
            await _runs_listed(app, pilot)
            await pilot.press("d")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))

        assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("theme", THEMES)
class TestThemes:
    """Each built-in theme colours the Live screen's status line, sparklines, best score and log."""

    def test_live_screen_in_theme(self, snap_compare, home, size, theme):
        """The Live screen mid-run in this theme: every Live element stays readable in its colours."""
        app = _app(home, theme=theme, last={"n": 20, "repeats": 3, "seed": 5}, hold_after=50)

        async def run_before(pilot):
            assert app.theme == theme
            await _mid_run(app, pilot)

        assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
class TestRunOutcomes:
    """What a user sees when a run cannot start, and when a saved run is replayed."""

    def test_failed_start(self, snap_compare, home, size):
        """A run whose input is bad never reaches Live: back on Setup with a 'Cannot start' error naming it."""
        app = _app(home, fail_prepare="unknown dataset 'mnist'; choose cifar10, cifar100 or ImageNet16-120")

        async def run_before(pilot):
            await pilot.press("ctrl+r")
            await app.workers.wait_for_complete()
            await wait_until(pilot, lambda: app.state.status == "idle" and app.current_mode == "setup"
                             and app._notifications)

        assert snap_compare(app, terminal_size=size, run_before=run_before)

    def test_replay_of_saved_trace(self, snap_compare, home, size):
        """enter on Runs replays a 3-repeat trace into the Live layout: 'replay', all picks, no Pause/Cancel."""
        _saved_runs(home)
        app = _app(home)

        async def run_before(pilot):
            await _runs_listed(app, pilot)
            await pilot.press("down", "enter")  # the second row: seed 2, three repeats
            await app.workers.wait_for_complete()
            await wait_until(pilot, lambda: app.current_mode == "live" and app.state.status == "completed"
                             and len(app.state.picks) == 3)

        assert snap_compare(app, terminal_size=size, run_before=run_before)

    def test_compare_diff_only(self, snap_compare, home, size):
        """d on Compare keeps only the rows that differ between the runs (config and evaluate rows)."""
        paths = _saved_runs(home)[:2]
        app = _app(home)

        async def run_before(pilot):
            app.open_compare([str(p) for p in paths])
            await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.evaluations,
                             timeout=120)
            await pilot.press("d")
            await wait_until(pilot, lambda: app.screen.diff_only)
            app.clear_notifications()  # the "differences only" toast would cover the table's right half
            await pilot.pause()

        assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
class TestPictures:
    """The Live screen's scatter and wide layout, and the kernel inspector."""

    def test_live_scatter_mid_run(self, snap_compare, home, size):
        """Live mid-run with a braille scatter of score vs accuracy and its running tau; at 160x48 the
        scatter and the cell sit side by side and the top-K table shows more than 10 rows."""
        app = _app(home, last={"n": 80, "repeats": 1, "seed": 5}, hold_after=70)

        async def run_before(pilot):
            await pilot.press("ctrl+r")
            await wait_until(pilot, lambda: app.state.done == 70 and any("holding" in t for _, t in app.state.log))

        assert snap_compare(app, terminal_size=size, run_before=run_before)

    def test_kernel_inspector(self, snap_compare, home, size):
        """Enter on the best top-K row: its K as a half-block heatmap, the score, per-layer code statistics."""
        from naswot_tui.tui.screens.kernel import KernelScreen

        app = _app(home, last={"n": 20, "repeats": 1, "seed": 5}, hold_after=15)

        async def run_before(pilot):
            await pilot.press("ctrl+r")
            await wait_until(pilot, lambda: app.state.done == 15 and any("holding" in t for _, t in app.state.log))
            app.screen.query_one("#top-table").focus()
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, KernelScreen) and app.screen.report is not None)

        assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_nds_pick_diagrams(snap_compare, size):
    """NDS picks as diagrams, not JSON: a DARTS genotype (both cells' node equations) and a ResNeXt's stages."""
    import json

    from textual.app import App
    from textual.containers import Horizontal

    from naswot_tui.tui.app import APP_VARIABLES
    from naswot_tui.tui.widgets.cell import CellDiagram
    from nds_fixtures import ANYNET_NETS, CELL_NETS

    class Picks(App):
        CSS = "CellDiagram { width: 1fr; height: auto; padding: 0 1; }"

        def get_theme_variable_defaults(self) -> dict[str, str]:
            return dict(APP_VARIABLES)  # the colours the app gives its cell diagrams

        def compose(self):
            with Horizontal():
                yield CellDiagram(json.dumps(CELL_NETS["DARTS"][0]))
                yield CellDiagram(json.dumps(ANYNET_NETS["ResNeXt-A"][0]))

    assert snap_compare(Picks(), terminal_size=size)
