"""The Textual app: ``make_app(settings)`` for the CLI and the tests.

Never imports torch at module scope: the first frame paints before any
scoring code loads (the run worker imports the engine when a run starts).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterable
from pathlib import Path

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from naswot_tui.tui.runner import Runner, StartFailed
from naswot_tui.tui.settings import Settings
from naswot_tui.tui.state import TOP_KEEP, LiveState
from naswot_tui.tui.themes import APP_VARIABLES, DEFAULT_THEME, builtin_themes_dir, load_themes


def _setup_screen() -> Screen:
    from naswot_tui.tui.screens.setup import SetupScreen

    return SetupScreen()


def _live_screen() -> Screen:
    from naswot_tui.tui.screens.live import LiveScreen

    return LiveScreen()


def _runs_screen() -> Screen:
    from naswot_tui.tui.screens.runs import RunsScreen

    return RunsScreen()


class NaswotApp(App):
    TITLE = "naswot-tui"
    SUB_TITLE = "neural architecture search without training"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    # Modes keep one screen stack each, so the live run survives a visit to Runs.
    MODES = {"setup": _setup_screen, "live": _live_screen, "runs": _runs_screen}
    DEFAULT_MODE = "setup"
    # Bumped once per change of ``state`` (a batch, a status); the Live widgets watch it.
    run_version: reactive[int] = reactive(0, init=False)
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("f2", "mode('setup')", "Setup", show=False),
        Binding("f3", "mode('live')", "Live", show=False),
        Binding("f4", "mode('runs')", "Runs", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = LiveState(settings.top_k, settings.recent, keep=TOP_KEEP)
        self.runner = Runner(self, settings.source)
        self._theme_errors: list[str] = []
        super().__init__()
        self._install_themes()

    # ------------------------------------------------------------ themes
    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(APP_VARIABLES)  # so Textual's own themes render our widgets too

    def _install_themes(self) -> None:
        themes, errors = load_themes(builtin_themes_dir(), self.settings.themes_dir)
        for theme in themes:
            self.register_theme(theme)
        self._theme_errors = errors
        wanted = self.settings.theme or self.settings.load_state().get("theme") or DEFAULT_THEME
        if wanted not in self.available_themes:
            self._theme_errors.append(f"theme {wanted!r} is not available; using {DEFAULT_THEME}")
            wanted = DEFAULT_THEME
        self.theme = wanted

    def on_mount(self) -> None:
        if self._theme_errors:
            # One notification, however many files were bad.
            self.notify("\n".join(self._theme_errors), title="Theme problem", severity="warning", timeout=8)
        self.theme_changed_signal.subscribe(self, lambda theme: self.settings.save_state(theme=theme.name))

    # ------------------------------------------------------------ navigation
    def action_mode(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)

    def action_help(self) -> None:
        from naswot_tui.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def open_compare(self, paths: list[str]) -> None:
        from naswot_tui.tui.screens.compare import CompareScreen

        if self.current_mode != "runs":
            self.switch_mode("runs")
        self.push_screen(CompareScreen(paths))

    # ------------------------------------------------------------ runs
    def busy(self) -> bool:
        if self.runner.active:
            self.notify("A run is in progress: cancel it first (c on the Live screen).", severity="warning")
            return True
        return False

    def start_run(self, config) -> None:
        config.out_dir = config.out_dir or str(self.settings.runs_dir)  # the form may name its own folder
        self._launch("run", lambda: self.runner.start(config))

    def resume_run(self, path: str) -> None:
        self._launch("resume", lambda: self.runner.resume(Path(path)))

    def replay_run(self, path: str) -> None:
        self._launch("replay", lambda: self.runner.replay(Path(path)))

    def _launch(self, mode: str, start) -> None:
        """One run, resume or replay at a time: reset the live state, start the worker, show Live."""
        if self.busy():
            return
        self.state.reset(mode)
        self.state.status = "preparing"
        start()
        self.action_mode("live")
        self._changed()

    def _changed(self) -> None:
        """The live state moved on: the Live widgets each repaint what changed (once per batch)."""
        self.run_version += 1

    @on(Runner.Prepared)
    def _prepared(self, message: Runner.Prepared) -> None:
        self.state.trace_path = message.trace_path
        if message.trace_path:
            self.state.note("info", f"trace: {message.trace_path}")
        self._changed()

    @on(Runner.Batch)
    def _batch(self, message: Runner.Batch) -> None:
        self.state.apply(message.events, now=self.settings.clock())
        self._changed()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """How a run ended comes from its worker: returned status, StartFailed, another error, cancelled."""
        worker = event.worker
        if worker.group != Runner.GROUP or worker is not self.runner.worker:
            return  # other workers (compare's evaluate), or a superseded run
        if event.state == WorkerState.SUCCESS:
            status = worker.result or "incomplete"
            self.state.end(status)
            if self.state.mode != "replay":
                self.notify(f"Run {status}: {Path(self.state.trace_path or '').name}",
                            severity="information" if status == "completed" else "warning")
        elif event.state == WorkerState.ERROR:
            error = worker.error
            if isinstance(error, StartFailed):
                self.notify(str(error), title="Cannot start", severity="error", timeout=10)
                self.state.note("error", str(error))
                self.state.end("idle")
                self.action_mode("runs" if self.state.mode in ("resume", "replay") else "setup")
            else:
                text = f"{type(error).__name__}: {error}"
                self.notify(text, title="Run failed", severity="error", timeout=10)
                self.state.note("error", text)
                self.state.end("failed")
        elif event.state == WorkerState.CANCELLED:
            self.state.end("cancelled")
        self._changed()

    def toggle_pause(self) -> None:
        if not self.runner.active or self.runner.mode == "replay":
            return
        paused = self.runner.toggle_pause()
        self.state.status = "paused" if paused else "running"
        self._changed()

    def cancel_run(self) -> None:
        if self.runner.active and self.runner.mode != "replay":
            self.runner.cancel()
            self.state.note("warning", "cancelling after the current architecture...")
            self._changed()

    async def action_quit(self) -> None:
        if self.runner.active:
            self.runner.cancel()  # the worker writes the 'cancelled' footer before the process ends
        self.exit()

    def on_unmount(self) -> None:
        # Unconditionally: on exit Textual may already have marked the worker cancelled while
        # its thread still runs; only the Control stops the thread (and writes the footer).
        self.runner.cancel()

    # ------------------------------------------------------------ export & palette
    def export_rows(self, stem: str, rows: list[dict]) -> Path | None:
        """Write ``rows`` as CSV and JSON beside the runs; returns the CSV path."""
        if not rows:
            self.notify("Nothing to export yet.", severity="warning")
            return None
        folder = self.settings.runs_dir / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        base = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}"
        with open(base.with_suffix(".csv"), "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        base.with_suffix(".json").write_text(json.dumps(rows, indent=2, default=str), encoding="utf-8")
        self.notify(f"Exported {len(rows)} rows to {base}.csv and .json")
        return base.with_suffix(".csv")

    def copy_best(self) -> None:
        best = self.state.best
        if best is None:
            self.notify("No architecture scored yet.", severity="warning")
            return
        self.copy_to_clipboard(best.arch)
        self.notify(f"Copied #{best.index} (OSC 52): {best.arch}")

    def cycle_theme(self) -> None:
        names = sorted(n for n in self.available_themes if n.startswith("naswot-")) or [DEFAULT_THEME]
        current = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(current + 1) % len(names)]
        self.notify(f"Theme: {self.theme}")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("New run", "Go to the setup screen", lambda: self.action_mode("setup"))
        yield SystemCommand("Open run", "Browse saved runs: replay, resume, delete", lambda: self.action_mode("runs"))
        yield SystemCommand("Compare with...", "Mark runs on the Runs screen (space), then press m",
                            lambda: self.action_mode("runs"))
        yield SystemCommand("Export", "Export the current table or comparison to CSV and JSON",
                            lambda: getattr(self.screen, "action_export", lambda: None)())
        yield SystemCommand("Switch theme", "Cycle the naswot themes (dark, light, high contrast)",
                            self.cycle_theme)
        yield SystemCommand("Copy best architecture", "Copy the best architecture string (OSC 52)",
                            self.copy_best)


def make_app(settings: Settings | None = None) -> NaswotApp:
    return NaswotApp(settings or Settings())


def run_app() -> None:
    make_app().run()
