"""Live run (and replay): a layout of small widgets (widgets/live.py), each
repainting itself from ``app.state`` when the part it shows changed.

The screen itself only lays them out and owns the keys; the app never holds
a reference to it.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header

from naswot_tui.tui.widgets.live import (
    BestCell,
    PicksLine,
    ProgressStrip,
    RunInfo,
    RunLog,
    ScoreSparklines,
    TopTable,
    fmt,
    fmt_time,
)
from naswot_tui.tui.widgets.proxy_tau import ProxyTau
from naswot_tui.tui.widgets.scatter import ScoreScatter
from naswot_tui.tui.widgets.workers import WorkersLine

ACTIVE = ("preparing", "running", "paused")


class LiveScreen(Screen):
    AUTO_FOCUS = "#top-table"
    # From 120 columns the screen is "-wide": scatter and cell side by side, a shorter log,
    # so the top-K table grows with the height (app.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        Binding("p", "pause", "Pause"),
        Binding("c", "cancel", "Cancel"),
        Binding("y", "copy_best", "Copy"),
        Binding("e", "export", "Export"),
        Binding("o", "app.mode('runs')", "Runs"),
        Binding("escape", "app.mode('setup')", "Setup", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield RunInfo("", id="run-info")
        yield ProgressStrip(id="progress-row")
        yield ScoreSparklines(id="sparks")
        with Horizontal(id="live-middle"):
            with Vertical(id="live-left"):
                yield TopTable(id="top-table", cursor_type="row", zebra_stripes=True)
                # --proxies runs only: under the table, so it takes rows from the table and
                # nothing else (80x24 has no row to spare)
                yield ProxyTau("", id="proxy-tau")
            with Container(id="live-side"):
                yield ScoreScatter(id="scatter")
                yield BestCell(id="best-panel")
        yield PicksLine("", id="picks")
        yield WorkersLine("", id="workers")
        yield RunLog(id="log", max_lines=500, wrap=False, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._bindings_for = None
        self.watch(self.app, "run_version", self._run_changed, init=True)

    def _run_changed(self, _version: int) -> None:
        # The footer shows Pause/Cancel only while a run is live: refresh it when that flips.
        s = self.app.state
        live = (s.status in ACTIVE, s.mode)
        if live != self._bindings_for:
            self._bindings_for = live
            self.refresh_bindings()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a top-K row opens the kernel inspector for that architecture."""
        if event.data_table.id != "top-table":
            return
        s = self.app.state
        row = event.cursor_row
        if 0 <= row < min(len(s.top), self.query_one(TopTable).rows_shown(s)):
            from naswot_tui.tui.screens.kernel import KernelScreen

            t = s.top[row]
            config = dict(s.config)
            if s.header.get("ground_truth") == "fake":  # scored by the fake evaluator: no real network
                config["fake"] = True
            self.app.push_screen(KernelScreen(config, t.index, t.arch, t.score, s.repeat))

    # ------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Pause and Cancel only while a run is live (not after it ends, not in a replay)."""
        if action in ("pause", "cancel"):
            s = self.app.state
            return s.status in ACTIVE and s.mode != "replay"
        return True

    def action_pause(self) -> None:
        self.app.toggle_pause()

    def action_cancel(self) -> None:
        self.app.cancel_run()

    def action_copy_best(self) -> None:
        self.app.copy_best()

    def action_export(self) -> None:
        s = self.app.state
        rows = [{"rank": k, "index": t.index, "arch": t.arch, "score": t.score, "params": t.params, "acc": t.acc}
                for k, t in enumerate(s.top, start=1)]
        self.app.export_rows("top", rows)


__all__ = ["LiveScreen", "fmt", "fmt_time"]
