"""The pieces of the Live screen, each a small widget that repaints itself.

The app folds every batch of events into one ``LiveState`` and then bumps
its ``run_version`` reactive (once per batch of ~150 ms, never once per
architecture). Each widget here watches that reactive, computes a small
``key`` from the state - the part of it that this widget shows - and
repaints only when its key changed. So a batch that adds no new best leaves
the cell diagram alone, and a quiet log is not rewritten.

No widget holds a reference the app has to know about: a widget that is not
mounted simply does not watch, and one that mounts later paints the current
state at once (``init=True``).
"""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, ProgressBar, RichLog, Sparkline, Static

from naswot_tui.tui.state import LiveState
from naswot_tui.tui.widgets.cell import CellDiagram

STATUS_MARK = {"running": "●", "paused": "‖", "completed": "✓", "cancelled": "✗", "failed": "!",
               "preparing": "…", "replay": "▶", "incomplete": "◌", "idle": "○"}


def fmt(v, spec: str = ".2f") -> str:
    """A score or accuracy for a narrow column: ``-`` when missing, infinities spelled out."""
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


class LivePart:
    """Mixin: repaint from ``app.state`` when the part of it this widget shows changed.

    Subclasses define ``key(state)`` (cheap, hashable) and ``paint(state)``.
    """

    _shown_key: Any = object()

    def on_mount(self) -> None:
        # Textual calls this for every class in the MRO, so subclasses add their own on_mount
        # without calling super(). init=True: a Live screen opened mid-run paints what is there already.
        self.watch(self.app, "run_version", self._run_changed, init=True)  # type: ignore[attr-defined]

    def _run_changed(self, _version: int) -> None:
        state: LiveState = self.app.state  # type: ignore[attr-defined]
        key = (state.generation, self.key(state))
        if key != self._shown_key:
            self._shown_key = key
            self.paint(state)

    def key(self, state: LiveState) -> Any:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def paint(self, state: LiveState) -> None:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


class RunInfo(LivePart, Static):
    """One line: status mark, space/dataset, N x repeats, seed, device, run/resume/replay."""

    def key(self, s: LiveState) -> Any:
        return s.status, s.mode, len(s.header)

    def paint(self, s: LiveState) -> None:
        cfg = s.config
        mark = STATUS_MARK.get(s.status, "?")
        mode = {"replay": "replay", "resume": "resume"}.get(s.mode, "run")
        device = (s.header.get("env") or {}).get("device", "-")
        if cfg:
            info = (f"{mark} {s.status}  {cfg.get('space')}/{cfg.get('dataset')}  N={cfg.get('n')}"
                    f"×{cfg.get('repeats')}  seed {cfg.get('seed')}  {device}  [{mode}]")
        else:
            info = f"{mark} {s.status}" + ("" if s.status != "idle" else "  - start a run on Setup (F2)")
        self.update(Text(info))


class ProgressStrip(LivePart, Horizontal):
    """The bar plus done/total, rate, ETA, error count and (for live runs) elapsed time."""

    def compose(self) -> ComposeResult:
        yield ProgressBar(total=100, show_eta=False, id="progress")
        yield Static("", id="progress-text")

    def key(self, s: LiveState) -> Any:
        return s.done, s.total, s.errors, s.status, s.mode, s.n_timed, s.started_at, s.fresh_last_at

    def paint(self, s: LiveState) -> None:
        total = max(s.total, 1)
        self.query_one("#progress", ProgressBar).update(total=total, progress=min(s.done, total))
        parts = [f"{s.done}/{s.total}"]
        # Only fresh work has a rate; cache hits and replayed records are counted, never timed.
        if s.mode == "replay":
            parts.append("replay")
        else:
            parts += [f"{fmt(s.rate(), '.1f')}/s", f"ETA {fmt_time(s.eta_s())}"]
        if s.cached:
            parts.append(f"cached {s.cached}")
        if s.replayed and s.mode != "replay":
            parts.append(f"from trace {s.replayed}")
        parts.append(f"err {s.errors}")
        if s.started_at is not None and s.mode != "replay":
            elapsed = max(self.app.settings.clock() - s.started_at, 0.0)  # type: ignore[attr-defined]
            parts.append(fmt_time(elapsed))
        self.query_one("#progress-text", Static).update(Text("  ".join(parts)))


class ScoreSparklines(LivePart, Vertical):
    """Two rows: recent scores as they stream, and the best-so-far curve with its value."""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="spark-row"):
            yield Label("scores", classes="spark-label")
            yield Sparkline([], id="spark-scores")
        with Horizontal(classes="spark-row"):
            yield Label("best", classes="spark-label")
            yield Sparkline([], id="spark-best")
            yield Static("", id="best-value")

    def key(self, s: LiveState) -> Any:
        return s.done, s.repeat, s.mode

    def paint(self, s: LiveState) -> None:
        self.query_one("#spark-scores", Sparkline).data = list(s.scores)
        self.query_one("#spark-best", Sparkline).data = list(s.best_curve)
        best = s.best
        acc = f" acc {fmt(best.acc)}" if best is not None and best.acc is not None else ""
        self.query_one("#best-value", Static).update(Text(f"{fmt(best.score)}{acc}" if best else "-"))


class TopTable(LivePart, DataTable):
    """The bounded top-K (one row per architecture, best first) and the most recent scores, dimmed."""

    def on_mount(self) -> None:
        for name, key, width in (("#", "rank", 4), ("index", "index", 6), ("score", "score", 9),
                                 ("params", "params", 6), ("acc", "acc", 6)):
            self.add_column(name, key=key, width=width)
        # LivePart.on_mount runs next (Textual calls each class's handler along the MRO) and paints.

    def key(self, s: LiveState) -> Any:
        # At most a screenful of rows: rebuilding them is cheap, but only when a row could differ.
        return s.done, s.repeat, len(s.top), s.mode, self.rows_shown(s)

    def rows_shown(self, s: LiveState) -> int:
        """Top rows to show: top_k at least, more when the table is taller (header and recent rows aside)."""
        return max(s.top_k, self.size.height - 1 - s.recent_n)

    def on_resize(self) -> None:
        self._run_changed(0)  # the number of rows that fit changed

    def paint(self, s: LiveState) -> None:
        self.clear()
        for rank, t in enumerate(s.top[:self.rows_shown(s)], start=1):
            self.add_row(str(rank), str(t.index), Text(fmt(t.score), style="bold" if rank == 1 else ""),
                         fmt(t.params), fmt(t.acc))
        for e in reversed(s.recent):
            score = Text("err", style="red") if e.error else Text(fmt(e.score), style="dim")
            self.add_row(Text("new", style="dim"), Text(str(e.index), style="dim"), score,
                         Text(fmt(e.params), style="dim"), Text(fmt(e.acc), style="dim"))


class BestCell(LivePart, Vertical):
    """The best architecture so far: title line, the cell drawn, its string."""

    def compose(self) -> ComposeResult:
        yield Static("", id="best-title")
        yield CellDiagram(id="best-cell")
        yield Static("", id="best-arch")

    def key(self, s: LiveState) -> Any:
        b = s.best
        return None if b is None else (b.repeat, b.i, b.index)

    def paint(self, s: LiveState) -> None:
        best = s.best
        if best is not None:
            title = f"best #{best.index} · {fmt(best.score)}" + (f" · acc {fmt(best.acc)}" if best.acc else "")
            self.query_one("#best-title", Static).update(Text(title))
        else:
            self.query_one("#best-title", Static).update("best: -")
        self.query_one("#best-cell", CellDiagram).show(best.arch if best else None)
        self.query_one("#best-arch", Static).update(Text(best.arch if best else "", overflow="fold"))


class PicksLine(LivePart, Static):
    """Which repeat is running and the accuracy picked by each finished repeat, with mean ± std."""

    SHOWN = 6

    def key(self, s: LiveState) -> Any:
        return len(s.picks), s.repeat, s.repeats

    def paint(self, s: LiveState) -> None:
        where = f"repeat {min(s.repeat + 1, s.repeats)}/{s.repeats}"
        if not s.picks:
            self.update(Text(where))
            return
        mean, std = s.pick_stats()
        shown = " ".join(fmt(p.pick_acc) for p in s.picks[-self.SHOWN:])
        more = "… " if len(s.picks) > self.SHOWN else ""
        self.update(Text(f"{where}  picks {more}{shown}  mean {fmt(mean)} ± {fmt(std)}"))


class RunLog(LivePart, RichLog):
    """Log lines and errors; writes only the lines it has not written yet."""

    STYLES = {"error": "bold red", "warning": "yellow"}

    def key(self, s: LiveState) -> Any:
        return s.log_serial

    def paint(self, s: LiveState) -> None:
        # A new run (generation) starts a clean log; otherwise write only the new lines.
        written = getattr(self, "_written", 0)
        if getattr(self, "_generation", s.generation) != s.generation:
            self.clear()
            written = 0
        self._generation = s.generation
        for level, text in s.log_since(written):
            self.write(Text(f"{level[:4]}  {text}", style=self.STYLES.get(level, "")))
        self._written = s.log_serial


__all__ = ["STATUS_MARK", "BestCell", "LivePart", "PicksLine", "ProgressStrip", "RunInfo", "RunLog",
           "ScoreSparklines", "TopTable", "fmt", "fmt_time"]
