"""The app driven with Pilot: runs (fake and real engine), cancel, Runs, Compare, themes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from naswot_tui.core.trace import read_trace
from naswot_tui.tui.app import make_app
from naswot_tui.tui.fake import FakeSource
from naswot_tui.tui.screens.compare import CompareScreen, evaluation_rows
from naswot_tui.tui.settings import Settings
from naswot_tui.tui.widgets.plot import BraillePlot
from tui_helpers import fake_settings, fake_trace, sync, wait_until


def _notifications(app) -> list[str]:
    return [n.message for n in app._notifications]


@sync
async def test_start_stream_cancel_writes_cancelled_footer(tmp_path):
    """Setup remembers the last config; start streams batches into a bounded table; cancel writes the footer."""
    settings = fake_settings(tmp_path, last={"n": 500, "seed": 4}, hold_after=40)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.screen.query_one("#n").value == "500"  # remembered
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: app.state.done == 40)
        assert app.current_mode == "live"
        table = app.screen.query_one("#top-table")
        assert table.row_count <= settings.top_k + settings.recent
        assert app.state.errors == 3  # every 13th fake candidate fails
        assert app.state.top[0].score == max(t.score for t in app.state.top)
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: app.state.status == "cancelled")
        trace = read_trace(app.state.trace_path)
        assert trace.status == "cancelled"
        assert len(trace.scores) == 40
        assert "cancelled" in app.screen.query_one("#run-info").render().plain


@sync
async def test_pause_holds_the_run_until_resumed(tmp_path):
    """p pauses between candidates (nothing more arrives), p again resumes to completion."""
    settings = fake_settings(tmp_path, last={"n": 30}, hold_after=10)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: app.state.done == 10)
        await pilot.press("p")
        assert app.runner.paused and app.state.status == "paused"
        settings.source.instances[0].release.set()  # the fake would go on; the pause must hold it
        for _ in range(10):
            await pilot.pause(0.02)
        assert app.state.done == 10
        await pilot.press("p")
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: app.state.status == "completed")
        assert app.state.done == 30


@sync
async def test_bad_input_is_a_notification_not_a_crash(tmp_path):
    """A NaswotError from prepare() comes back as an error notification and the setup screen."""
    app = make_app(fake_settings(tmp_path, fail_prepare="unknown dataset 'mnist'"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: any("mnist" in m for m in _notifications(app)))
        assert app.current_mode == "setup"
        assert not list((tmp_path / "runs").glob("*.jsonl"))


class _BreaksAfter(FakeSource):
    """The fake source, but scoring raises after a few candidates (as a broken network would)."""

    def events(self):
        for k, event in enumerate(super().events()):
            if k == 8:
                raise RuntimeError("device lost")
            yield event


@sync
async def test_a_run_that_breaks_ends_failed_from_the_worker_state(tmp_path):
    """An exception while scoring ends the worker in ERROR: status 'failed', a 'Run failed' note, no live run."""
    settings = fake_settings(tmp_path, last={"n": 30})
    settings.source = _BreaksAfter.factory()
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: app.state.status == "failed")
        assert not app.runner.active and app.runner.worker.error is not None
        assert any("device lost" in m for m in _notifications(app))
        assert "failed" in app.screen.query_one("#run-info").render().plain
        log = app.screen.query_one("#log")
        assert any("device lost" in line.text for line in log.lines)
        assert not hasattr(app, "live_screen")  # the app holds no reference to its screens


@sync
async def test_live_widgets_repaint_only_what_changed(tmp_path):
    """One message per batch; each Live widget repaints only when the part of the state it shows changed."""
    from naswot_tui.core.events import ArchScored
    from naswot_tui.tui.runner import Runner
    from naswot_tui.tui.widgets.live import BestCell, LivePart, PicksLine, ProgressStrip, TopTable

    settings = fake_settings(tmp_path, last={"n": 100}, hold_after=20)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: app.state.done == 20 and app.state.log_serial >= 3)
        await pilot.pause()
        paints: dict[str, int] = {}
        parts = [w for w in app.screen.query("*") if isinstance(w, LivePart)]  # a mixin: not a CSS type
        assert len(parts) == 9  # run info, progress, sparklines, top table, proxy tau (hidden without
        # --proxies), scatter, best cell, picks, log

        def counting(widget):
            original, name = widget.paint, type(widget).__name__

            def counted(state):
                paints[name] = paints.get(name, 0) + 1
                original(state)

            return counted

        for widget in parts:
            widget.paint = counting(widget)
        app.run_version += 1  # nothing in the state changed: nothing repaints
        await pilot.pause()
        assert paints == {}
        worst = ArchScored(0, 20, 3, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", -1e9, 0.05)
        app.post_message(Runner.Batch([worst]))  # a score that is neither best nor top-K
        await wait_until(pilot, lambda: app.state.done == 21)
        await pilot.pause()
        assert paints.get(ProgressStrip.__name__) == 1 and paints.get(TopTable.__name__) == 1  # recent row
        assert BestCell.__name__ not in paints and PicksLine.__name__ not in paints
        assert "ScoreScatter" not in paints  # no accuracy: no new point
        assert app.screen.query_one("#progress-text").render().plain.startswith("21/100")
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: app.state.status == "cancelled")


@sync
async def test_real_engine_run_on_cpu(tmp_path):
    """The real engine (torch, embedded CIFAR batch) scores N=3 on CPU through the UI."""
    settings = Settings(runs_dir=tmp_path / "runs", config_dir=tmp_path / "config",
                        device_probe=lambda: [("cpu", "CPU")])
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        for key, value in (("n", "3"), ("batch_size", "16"), ("seed", "2")):
            app.screen.query_one(f"#{key}").value = value
        app.screen.query_one("#device").value = "cpu"
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: app.state.status == "completed", timeout=120)
        assert app.state.done == 3
        assert app.state.best is not None and app.state.best.acc is not None  # embedded NB201 ground truth
        trace = read_trace(app.state.trace_path)
        assert trace.status == "completed" and len(trace.scores) == 3
        assert trace.header["config"]["batch_size"] == 16
        assert "cpu" in app.screen.query_one("#run-info").render().plain


@pytest.fixture
def headless_runs(tmp_path_factory) -> Path:
    # Function scope: the conftest's isolated cache/runs dirs are in place before the CLI runs.
    """Two traces from ``naswot-tui --headless`` plus an incomplete copy (footer and last score cut)."""
    from naswot_tui.cli import app as cli

    folder = tmp_path_factory.mktemp("headless-runs")
    for seed in (1, 2):
        result = CliRunner().invoke(cli, ["--headless", "--n", "2", "--batch-size", "8", "--seed", str(seed),
                                          "--device", "cpu", "--out", str(folder), "--json"])
        assert result.exit_code == 0, result.output
    first = sorted(folder.glob("*.jsonl"))[0]
    lines = first.read_text().splitlines(keepends=True)
    cut = folder / "zz-incomplete.jsonl"
    cut.write_text("".join(line for line in lines[:-2]))  # drops the end record and the repeat end
    return folder


@sync
async def test_runs_screen_lists_headless_traces(tmp_path, headless_runs):
    """Runs shows every trace with its status, including the incomplete one, and filters by text."""
    runs_dir = tmp_path / "runs"
    shutil.copytree(headless_runs, runs_dir)
    app = make_app(fake_settings(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: app.screen.query_one("#runs-table").row_count == 3)
        table = app.screen.query_one("#runs-table")
        statuses = sorted(str(table.get_row_at(k)[0]).strip() for k in range(3))
        assert statuses == ["completed", "completed", "incomplete"]
        await pilot.press("slash", *"incompl")
        assert table.row_count == 1
        await pilot.press("enter", "u")  # leave the filter; resume (real engine) finishes the cut repeat
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: app.state.status == "completed", timeout=120)
        assert read_trace(runs_dir / "zz-incomplete.jsonl").status == "completed"


@sync
async def test_compare_two_traces(tmp_path):
    """Marking two runs and pressing m opens Compare: one curve per run, rows that differ flagged."""
    runs = tmp_path / "runs"
    fake_trace(runs, n=30, seed=1)
    fake_trace(runs, n=30, seed=2, repeats=2)
    app = make_app(fake_settings(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: app.screen.query_one("#runs-table").row_count == 2)
        await pilot.press("space", "space", "m")
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.comparison)
        comp = app.screen.comparison
        assert len(app.screen.query_one(BraillePlot).series) == 2
        differing = {r.key for r in comp.rows if r.differs}
        assert {"seed", "repeats"} <= differing and "space" not in differing
        # The evaluate rows (tau with CIs vs params/FLOPs, hit rates) fill in from a worker.
        await wait_until(pilot, lambda: app.screen.evaluations, timeout=120)
        table = app.screen.query_one("#compare-table")
        eval_rows = evaluation_rows(comp, app.screen.evaluations)
        assert [key for key, _, _ in eval_rows][:3] == ["eval-tau-proxy", "eval-tau-params", "eval-tau-flops"]
        assert table.row_count == len(comp.rows) + len(eval_rows)
        first = app.screen.evaluations[0].result_for(app.screen.evaluations[0].proxy, "cifar10 test")
        tau = first.kendall
        assert eval_rows[0][2][0].plain == f"{tau.value:+.3f} [{tau.low:+.2f},{tau.high:+.2f}]"
        eval_differing = sum(len({c.plain for c in cells}) > 1 for _, _, cells in eval_rows)
        all_rows = table.row_count
        await pilot.press("d")
        assert table.row_count == len(differing) + eval_differing < all_rows
        await pilot.press("e")
        assert list((runs / "exports").glob("*-compare.csv"))


@sync
async def test_replay_of_a_full_space_trace_stays_bounded(tmp_path):
    """A 15,625-row trace replays into the live layout with a bounded table."""
    path = fake_trace(tmp_path / "runs", n=15625)
    app = make_app(fake_settings(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        app.replay_run(str(path))
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: app.state.status == "completed")
        assert app.state.done == 15625
        assert app.screen.query_one("#top-table").row_count <= app.settings.top_k + app.settings.recent
        assert len(app.state.best_curve) <= 2001


@sync
async def test_bad_theme_file_falls_back_with_one_notification(tmp_path):
    """A theme with an invalid colour is skipped: default theme, one notification, no crash."""
    settings = fake_settings(tmp_path)
    settings.themes_dir.mkdir(parents=True)
    (settings.themes_dir / "broken.toml").write_text('name = "broken"\n[colors]\nprimary = "not-a-colour"\n')
    (settings.themes_dir / "garbage.toml").write_text("name = = =\n")
    settings.theme = "broken"
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "naswot-dark"
        notes = _notifications(app)
        assert len(notes) == 1
        assert "broken.toml" in notes[0] and "garbage.toml" in notes[0] and "not available" in notes[0]


@sync
async def test_user_theme_is_registered_and_remembered(tmp_path):
    """A valid user theme loads from the config dir; switching theme is saved for next time."""
    settings = fake_settings(tmp_path)
    settings.themes_dir.mkdir(parents=True)
    (settings.themes_dir / "mine.toml").write_text(
        'name = "mine"\ndark = false\n[colors]\nprimary = "#336699"\n[variables]\nscore-best = "green"\n')
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "mine" in app.available_themes
        app.theme = "mine"
        await pilot.pause()
        assert app.get_css_variables()["score-best"] == "green"
        assert app.get_css_variables()["series-1"]  # app defaults fill what the file leaves out
    assert settings.load_state()["theme"] == "mine"
    assert make_app(settings).theme == "mine"


@sync
async def test_delete_asks_first_and_sort_reorders(tmp_path):
    """d asks for confirmation (n keeps the file, y deletes it); s cycles the sort column."""
    runs = tmp_path / "runs"
    keep = fake_trace(runs, n=10, seed=1)
    fake_trace(runs, n=20, seed=2)
    app = make_app(fake_settings(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await wait_until(pilot, lambda: app.screen.query_one("#runs-table").row_count == 2)
        screen = app.screen
        first = screen._current()["path"]
        await pilot.press("d", "n")
        assert Path(first).exists()
        await pilot.press("d", "y")
        await app.workers.wait_for_complete()
        await wait_until(pilot, lambda: screen.query_one("#runs-table").row_count == 1)
        assert not Path(first).exists() and len(list(runs.glob("*.jsonl"))) == 1
        await pilot.press("s")  # date -> status
        assert "sort status" in screen.query_one("#runs-status").render().plain
    assert keep.exists() or first == str(keep)


@sync
async def test_setup_checks_the_benchmark_path_and_shows_the_cli_line(tmp_path):
    """A missing benchmark file is flagged on entry; the CLI line follows the form."""
    app = make_app(fake_settings(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#benchmark_file").value = str(tmp_path / "missing.pth")
        app.screen.query_one("#seed").value = "9"
        await pilot.pause()
        assert "not found" in str(app.screen.query_one("#bench-msg").render())
        assert "--seed 9" in str(app.screen.query_one("#cli-line").render())
        assert "--benchmark-file" in str(app.screen.query_one("#cli-line").render())
