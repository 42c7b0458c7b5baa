"""Live run (and replay): progress, sparklines, bounded top-K table, the best
cell drawn, picks over repeats, errors and log. Renders from ``app.state``.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar, RichLog, Sparkline, Static

from naswot_tui.tui.widgets.cell import CellDiagram

STATUS_MARK = {"running": "●", "paused": "‖", "completed": "✓", "cancelled": "✗", "failed": "!",
               "preparing": "…", "replay": "▶", "incomplete": "◌", "idle": "○"}


def fmt(v, spec: str = ".2f") -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "-inf" if v < 0 else "inf"
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return format(v, spec)


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class LiveScreen(Screen):
    AUTO_FOCUS = "#top-table"
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
        yield Static("", id="run-info")
        with Horizontal(id="progress-row"):
            yield ProgressBar(total=100, show_eta=False, id="progress")
            yield Static("", id="progress-text")
        with Horizontal(classes="spark-row"):
            yield Label("scores", classes="spark-label")
            yield Sparkline([], id="spark-scores")
        with Horizontal(classes="spark-row"):
            yield Label("best", classes="spark-label")
            yield Sparkline([], id="spark-best")
            yield Static("", id="best-value")
        with Horizontal(id="live-middle"):
            yield DataTable(id="top-table", cursor_type="row", zebra_stripes=True)
            with Vertical(id="best-panel"):
                yield Static("", id="best-title")
                yield CellDiagram(id="best-cell")
                yield Static("", id="best-arch")
        yield Static("", id="picks")
        yield RichLog(id="log", max_lines=500, wrap=False, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.app.live_screen = self
        table = self.query_one("#top-table", DataTable)
        for name, key, width in (("#", "rank", 4), ("index", "index", 6), ("score", "score", 9),
                                 ("params", "params", 6), ("acc", "acc", 6)):
            table.add_column(name, key=key, width=width)
        self._table_key = None
        self._seen_version = -1
        self.refresh_view()

    def on_screen_resume(self) -> None:
        self.refresh_view()

    # ------------------------------------------------------------ rendering
    def refresh_view(self) -> None:
        s = self.app.state
        if (s.status, s.mode) != getattr(self, "_bindings_for", None):
            self._bindings_for = (s.status, s.mode)
            self.refresh_bindings()  # the footer shows Pause/Cancel only while a run is live
        cfg = s.config
        mark = STATUS_MARK.get(s.status, "?")
        mode = {"replay": "replay", "resume": "resume"}.get(s.mode, "run")
        device = (s.header.get("env") or {}).get("device", "-")
        if cfg:
            info = (f"{mark} {s.status}  {cfg.get('space')}/{cfg.get('dataset')}  N={cfg.get('n')}"
                    f"×{cfg.get('repeats')}  seed {cfg.get('seed')}  {device}  [{mode}]")
        else:
            info = f"{mark} {s.status}" + ("" if s.status != "idle" else "  - start a run on Setup (F2)")
        self.query_one("#run-info", Static).update(Text(info))

        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(s.total, 1), progress=min(s.done, max(s.total, 1)))
        rate = s.rate()
        elapsed = None if s.started_at is None else max(self.app.settings.clock() - s.started_at, 0.0)
        parts = [f"{s.done}/{s.total}", f"{fmt(rate, '.1f')}/s", f"ETA {fmt_time(s.eta_s())}",
                 f"err {s.errors}"]
        if elapsed is not None and s.mode != "replay":
            parts.append(f"{fmt_time(elapsed)}")
        self.query_one("#progress-text", Static).update(Text("  ".join(parts)))

        self.query_one("#spark-scores", Sparkline).data = list(s.scores)
        self.query_one("#spark-best", Sparkline).data = list(s.best_curve)
        best = s.best
        acc = f" acc {fmt(best.acc)}" if best is not None and best.acc is not None else ""
        self.query_one("#best-value", Static).update(
            Text(f"{fmt(best.score)}{acc}" if best else "-"))

        if best is not None:
            self.query_one("#best-title", Static).update(Text(
                f"best #{best.index} · {fmt(best.score)}" + (f" · acc {fmt(best.acc)}" if best.acc else "")))
        else:
            self.query_one("#best-title", Static).update("best: -")
        self.query_one("#best-cell", CellDiagram).show(best.arch if best else None)
        self.query_one("#best-arch", Static).update(Text(best.arch if best else "", overflow="fold"))

        self._fill_table(s)

        if s.picks:
            mean, std = s.pick_stats()
            shown = " ".join(fmt(p.pick_acc) for p in s.picks[-6:])
            more = "… " if len(s.picks) > 6 else ""
            self.query_one("#picks", Static).update(Text(
                f"repeat {min(s.repeat + 1, s.repeats)}/{s.repeats}  picks {more}{shown}"
                f"  mean {fmt(mean)} ± {fmt(std)}"))
        else:
            self.query_one("#picks", Static).update(Text(f"repeat {min(s.repeat + 1, s.repeats)}/{s.repeats}"))

        log = self.query_one("#log", RichLog)
        for level, text in s.take_new_log():
            style = {"error": "bold red", "warning": "yellow"}.get(level, "")
            log.write(Text(f"{level[:4]}  {text}", style=style))

    def _fill_table(self, s) -> None:
        # Rebuild only when something changed: at most top_k + recent rows.
        key = (s.version, len(s.top), s.done)
        if key == self._table_key:
            return
        self._table_key = key
        table = self.query_one("#top-table", DataTable)
        table.clear()
        for rank, t in enumerate(s.top, start=1):
            table.add_row(str(rank), str(t.index), Text(fmt(t.score), style="bold" if rank == 1 else ""),
                          fmt(t.params), fmt(t.acc))
        for e in reversed(s.recent):
            score = Text("err", style="red") if e.error else Text(fmt(e.score), style="dim")
            table.add_row(Text("new", style="dim"), Text(str(e.index), style="dim"), score,
                          Text(fmt(e.params), style="dim"), Text(fmt(e.acc), style="dim"))

    # ------------------------------------------------------------ actions
    _ACTIVE = ("preparing", "running", "paused")

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Pause and Cancel only while a run is live (not after it ends, not in a replay)."""
        if action in ("pause", "cancel"):
            s = self.app.state
            return s.status in self._ACTIVE and s.mode != "replay"
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
