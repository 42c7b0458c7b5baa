"""SVG snapshots of each screen at 80x24 and 120x40, driven by the fake source
(no torch) with a frozen clock. Regenerate on Python 3.11 only:
``pytest tests/test_tui_snapshots.py --snapshot-update``, then look at the SVGs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from naswot_tui.tui.app import make_app
from naswot_tui.tui.screens.compare import CompareScreen
from tui_helpers import fake_settings, fake_trace, wait_until

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    # Relative runs dir: paths shown on screen are the same on every machine.
    monkeypatch.chdir(tmp_path)
    return Path(".")


def _app(home, **options):
    settings = fake_settings(home, **options)
    settings.remember = False
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


@pytest.mark.parametrize("size", SIZES)
def test_setup_screen(snap_compare, home, size):
    """Setup shows every field, the equivalent CLI line and the keys, without torch or devices probed."""
    app = _app(home, last={"n": 30, "seed": 7, "repeats": 2})
    assert snap_compare(app, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_live_screen_mid_run(snap_compare, home, size):
    """Live, mid-run on repeat 3 of 3: progress/ETA, sparklines, bounded top-K + recent, cell, picks, log."""
    app = _app(home, last={"n": 20, "repeats": 3, "seed": 5}, hold_after=50)

    async def run_before(pilot):
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: app.state.done == 50 and any("holding" in t for _, t in app.state.log))

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_runs_screen(snap_compare, home, size):
    """Runs lists completed and incomplete traces with status, config, best score, pick accuracy, date."""
    _saved_runs(home)
    app = _app(home)

    async def run_before(pilot):
        await pilot.press("f4")
        await wait_until(pilot, lambda: app.screen.query_one("#runs-table").row_count == 3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_compare_screen(snap_compare, home, size):
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
