"""Compare 2-10 runs: overlaid best-so-far curves, a side-by-side table
(differences only on ``d``, best/worst coloured), rank correlations."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from naswot_tui.core.comparison import Comparison, format_value
from naswot_tui.tui.widgets.plot import BraillePlot


class CompareScreen(Screen):
    AUTO_FOCUS = "#compare-table"
    BINDINGS = [
        Binding("d", "diff_only", "Diff only"),
        Binding("a", "curve", "Score/acc"),
        Binding("e", "export", "Export"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    class Loaded(Message):
        def __init__(self, comparison: Comparison | None, error: str | None = None) -> None:
            super().__init__()
            self.comparison, self.error = comparison, error

    def __init__(self, paths: list[str]) -> None:
        super().__init__()
        self.paths = paths
        self.comparison: Comparison | None = None
        self.diff_only = False
        self.curve = "score"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading...", id="plot-title")
        yield BraillePlot(id="plot")
        yield Static("", id="legend")
        yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self._load(self.paths)

    @work(thread=True, group="compare", exclusive=True, exit_on_error=False)
    def _load(self, paths: list[str]) -> None:
        from naswot_tui.core.comparison import compare_paths
        from naswot_tui.core.errors import NaswotError

        try:
            self.post_message(self.Loaded(compare_paths(paths)))
        except NaswotError as exc:
            self.post_message(self.Loaded(None, str(exc)))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.comparison is None:
            self.notify(message.error or "cannot compare", severity="error")
            self.app.pop_screen()
            return
        self.comparison = message.comparison
        self._show()

    def _show(self) -> None:
        comp = self.comparison
        if comp is None:
            return
        has_acc = any(v is not None for r in comp.runs for v in r.curve_acc)
        if self.curve == "acc" and not has_acc:
            self.curve = "score"
        series = [(f"{r.label} {r.name}", r.curve_acc if self.curve == "acc" else r.curve_score)
                  for r in comp.runs]
        plot = self.query_one("#plot", BraillePlot)
        plot.set_series(series, empty_text="no scores in these runs")
        what = "accuracy of the best-so-far pick" if self.curve == "acc" else "best-so-far score"
        self.query_one("#plot-title", Static).update(Text(
            f"{what} (mean over repeats) vs candidates" + ("   a: accuracy" if has_acc and self.curve == "score"
                                                          else "   a: score" if self.curve == "acc" else "")))
        legend = Text()
        for k, r in enumerate(comp.runs):
            legend.append("━━ ", plot._color(k))
            legend.append(f"{r.label} {r.name}\n" if len(comp.runs) <= 3 else f"{r.label} {r.name[:24]}  ")
        self.query_one("#legend", Static).update(legend)
        self._fill_table()

    def _fill_table(self) -> None:
        comp = self.comparison
        table = self.query_one("#compare-table", DataTable)
        table.clear(columns=True)
        table.add_column("", key="label", width=16)
        for r in comp.runs:
            table.add_column(r.label, key=r.label)
        best = Style(color=self.app.theme_variables.get("score-best"), bold=True)
        worst = Style(color=self.app.theme_variables.get("score-worst"))
        for row in comp.rows:
            if self.diff_only and not row.differs:
                continue
            cells = []
            for i, v in enumerate(row.values):
                style = best if i in row.best else worst if i in row.worst else Style()
                cells.append(Text(format_value(row.key, v), style=style))
            label = Text(("* " if row.differs else "  ") + row.label, style="bold" if row.differs else "dim")
            table.add_row(label, *cells, key=row.key)

    def action_diff_only(self) -> None:
        self.diff_only = not self.diff_only
        self.notify("Showing differences only." if self.diff_only else "Showing every row.")
        self._fill_table()

    def action_curve(self) -> None:
        self.curve = "acc" if self.curve == "score" else "score"
        self._show()

    def action_export(self) -> None:
        comp = self.comparison
        if comp is None:
            return
        rows = [{"field": row.label, **{r.label: v for r, v in zip(comp.runs, row.values)},
                 "differs": row.differs} for row in comp.rows]
        self.app.export_rows("compare", rows)
