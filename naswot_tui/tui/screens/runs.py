"""Runs: every saved trace; filter, sort, replay, resume, delete, compare."""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from naswot_tui.core.comparison import MAX_RUNS, MIN_RUNS

# (key in run_summary, header, width)
COLUMNS = (("status", "status", 12), ("space", "space", 7), ("dataset", "dataset", 9), ("n", "N", 6),
           ("repeats", "R", 3), ("seed", "seed", 5), ("best_score", "best", 8), ("acc", "pick acc", 12),
           ("duration_s", "time", 5), ("created", "date", 11))   # widths include a space: fits 80 columns
SHORT_DATASET = {"ImageNet16-120": "IN16-120"}
STATUS_STYLE = {"completed": "green", "cancelled": "yellow", "incomplete": "magenta", "failed": "red",
                "running": "cyan", "unreadable": "bold red"}


def _fit(text: str, width: int) -> str:
    """Text that leaves one blank column before the next: cut with an ellipsis when too long."""
    return text if len(text) < width else text[:width - 2] + "…"


def _short_date(created: str | None) -> str:
    if not created:
        return "-"
    try:
        return _dt.datetime.fromisoformat(created).strftime("%m-%d %H:%M")
    except ValueError:
        return created[:11]


def _duration(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s:.0f}s" if s < 600 else f"{s / 60:.0f}m"


def _sort_key(row: dict, key: str):
    value = row.get("acc_mean") if key == "acc" else row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (1, "")
    return (0, value if isinstance(value, (int, float)) else str(value))


class RunsScreen(Screen):
    AUTO_FOCUS = "#runs-table"
    BINDINGS = [
        Binding("enter", "open", "Replay", show=True),
        Binding("space", "mark", "Mark"),
        Binding("m", "compare", "Compare"),
        Binding("u", "resume", "Resume"),
        Binding("d", "delete", "Delete"),
        Binding("s", "sort", "Sort", show=False),
        Binding("slash", "filter", "Filter", show=False),
        Binding("r", "reload", "Reload", show=False),
        Binding("escape", "leave", "Back", show=False),
    ]

    class Loaded(Message):
        def __init__(self, rows: list[dict], errors: list[str]) -> None:
            super().__init__()
            self.rows, self.errors = rows, errors

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: text in any column (/ to focus, esc to leave)", compact=True, id="filter")
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True, cell_padding=0)
        yield Static("", id="runs-status")
        yield Footer()

    def on_mount(self) -> None:
        self.rows: list[dict] = []
        self.marked: set[str] = set()
        self.sort_index = len(COLUMNS) - 1   # date
        self.sort_reverse = True
        table = self.query_one("#runs-table", DataTable)
        for key, title, width in COLUMNS:
            table.add_column(title, key=key, width=width)
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    # ------------------------------------------------------------ loading
    def action_reload(self) -> None:
        self.query_one("#runs-status", Static).update("loading runs...")
        self._load(Path(self.app.settings.runs_dir))

    @work(thread=True, group="runs-load", exclusive=True, exit_on_error=False)
    def _load(self, folder: Path) -> None:
        from naswot_tui.core.summary import run_row
        from naswot_tui.core.trace import list_traces

        rows: list[dict] = []
        try:
            # run_row never raises: a bad trace becomes a row marked "unreadable" with its reason
            rows = [run_row(path) for path in list_traces(folder)]
        except OSError as exc:  # the folder itself (permissions, gone mid-listing)
            self.post_message(self.Loaded(rows, [f"cannot list {folder}: {exc}"]))
            return
        self.post_message(self.Loaded(rows, [r["error"] for r in rows if r.get("error")]))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.rows = message.rows
        self.marked &= {r["path"] for r in self.rows if not r.get("error")}
        if message.errors:
            self.notify("\n".join(message.errors[:3]), title=f"{len(message.errors)} unreadable trace(s)",
                        severity="warning")
        self._fill()

    def _visible(self) -> list[dict]:
        needle = self.query_one("#filter", Input).value.strip().lower()
        rows = self.rows
        if needle:
            rows = [r for r in rows if needle in " ".join(str(v) for v in r.values()).lower()]
        key = COLUMNS[self.sort_index][0]
        return sorted(rows, key=lambda r: _sort_key(r, key), reverse=self.sort_reverse)

    def _fill(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        visible = self._visible()
        # Long space names (nds-darts-fix-w-d) widen their column; short ones keep 80 columns free.
        # The other columns keep their widths, so at 80 columns a long name is cut, never the date.
        widest = max((len(str(r.get("space") or "")) for r in visible), default=5)
        room = self.app.size.width - sum(w for key, _, w in COLUMNS if key != "space") - 2  # 2: scrollbar
        space_width = table.columns["space"].width = max(7, min(widest + 1, 20, room))
        for r in visible:
            if r.get("error"):   # an unreadable trace: its reason where the run's values would be
                mark = "▶" if r["path"] in self.marked else " "
                reason = r["error"].replace(str(r["path"]), r["name"])
                table.add_row(Text(mark + "unreadable", style=STATUS_STYLE["unreadable"]),
                              *self._reason_cells(reason, space_width), key=r["path"])
                continue
            acc = "-" if r.get("acc_mean") is None else (
                f"{r['acc_mean']:.2f}±{r['acc_std']:.2f}" if (r.get("repeats_done") or 0) > 1
                else f"{r['acc_mean']:.2f}")
            best = r.get("best_score")
            status = r["status"]
            mark = "▶" if r["path"] in self.marked else " "
            table.add_row(
                Text(mark + status, style=STATUS_STYLE.get(status, "")), _fit(str(r.get("space") or "-"), space_width),
                SHORT_DATASET.get(r.get("dataset"), str(r.get("dataset") or "-")), str(r.get("n") or "-"),
                str(r.get("repeats") or "-"),
                str(r.get("seed") if r.get("seed") is not None else "-"),
                "-" if best is None else (f"{best:.1f}" if math.isfinite(best) else str(best)), acc,
                _duration(r.get("duration_s")), _short_date(r.get("created")), key=r["path"])
        if visible:
            table.move_cursor(row=min(cursor, len(visible) - 1))
        sort_name = COLUMNS[self.sort_index][1]
        self.query_one("#runs-status", Static).update(Text(
            f"{len(visible)}/{len(self.rows)} runs in {self.app.settings.runs_dir}  "
            f"sort {sort_name} {'↓' if self.sort_reverse else '↑'} (s)  marked {len(self.marked)}  "
            "enter replay  / filter"))

    @staticmethod
    def _reason_cells(reason: str, space_width: int) -> list[str]:
        """The reason a trace is unreadable, spread over the columns after the status."""
        widths = [space_width, *(w for key, _, w in COLUMNS if key not in ("status", "space"))]
        cells = []
        for width in widths:
            cells.append(reason[:width - 1])
            reason = reason[width - 1:]
        if reason:
            cells[-1] = cells[-1][:-1] + "…"
        return cells

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self._fill()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one("#runs-table", DataTable).focus()

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        index = [c[0] for c in COLUMNS].index(str(event.column_key.value))
        self._set_sort(index)

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open()

    # ------------------------------------------------------------ actions
    def _current(self) -> dict | None:
        table = self.query_one("#runs-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.rows if r["path"] == key), None)

    def _set_sort(self, index: int) -> None:
        if index == self.sort_index:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_index, self.sort_reverse = index, False
        self._fill()

    def action_sort(self) -> None:
        self._set_sort((self.sort_index + 1) % len(COLUMNS))

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_leave(self) -> None:
        if self.query_one("#filter", Input).has_focus:
            self.query_one("#runs-table", DataTable).focus()
        else:
            self.app.action_mode("live" if self.app.state.status != "idle" else "setup")

    def _readable(self, row: dict | None) -> bool:
        if row is not None and row.get("error"):
            self.notify(row["error"], title="Unreadable trace", severity="error")
            return False
        return row is not None

    def action_open(self) -> None:
        row = self._current()
        if row is not None and self._readable(row):
            self.app.replay_run(row["path"])

    def action_mark(self) -> None:
        row = self._current()
        if row is None:
            return
        if row.get("error") and row["path"] not in self.marked:
            self._readable(row)
            return
        if row["path"] in self.marked:
            self.marked.discard(row["path"])
        elif len(self.marked) >= MAX_RUNS:
            self.notify(f"Compare takes at most {MAX_RUNS} runs.", severity="warning")
        else:
            self.marked.add(row["path"])
        table = self.query_one("#runs-table", DataTable)
        self._fill()
        table.action_cursor_down()

    def action_compare(self) -> None:
        order = [r["path"] for r in self._visible() if r["path"] in self.marked]
        if len(order) < MIN_RUNS:
            self.notify(f"Mark {MIN_RUNS} to {MAX_RUNS} runs with space, then press m.", severity="warning")
            return
        self.app.open_compare(order)

    def action_resume(self) -> None:
        row = self._current()
        if not self._readable(row):
            return
        assert row is not None
        if row["status"] == "running":
            self.notify("That run is being written by another process; it cannot be resumed now.",
                        severity="warning")
            return
        if row["status"] == "completed":
            self.notify("That run is completed; nothing to resume.", severity="warning")
            return
        self.app.resume_run(row["path"])

    def action_delete(self) -> None:
        from naswot_tui.tui.screens.confirm import ConfirmScreen

        row = self._current()
        if row is None:
            return
        path = Path(row["path"])
        if self.app.runner.active and str(self.app.state.trace_path) == str(path):
            self.notify("That run is in progress; cancel it first.", severity="warning")
            return

        def done(yes: bool | None) -> None:
            if yes:
                try:
                    path.unlink()
                    self.notify(f"Deleted {path.name}")
                except OSError as exc:
                    self.notify(f"Cannot delete {path.name}: {exc}", severity="error")
                self.marked.discard(str(path))
                self.action_reload()

        self.app.push_screen(ConfirmScreen(f"Delete {path.name}?\nThe trace file is removed for good."), done)
