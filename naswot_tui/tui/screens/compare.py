"""Compare 2-10 runs: overlaid best-so-far curves, a side-by-side table
(differences only on ``d``, best/worst coloured), rank correlations."""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:  # evaluate loads scipy and the benchmarks: only in the worker, not to paint
    from naswot_tui.core.evaluate import Evaluation, ProxyResult


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

    class Evaluated(Message):
        def __init__(self, reports: list[Evaluation | None]) -> None:
            super().__init__()
            self.reports = reports

    def __init__(self, paths: list[str]) -> None:
        super().__init__()
        self.paths = paths
        self.comparison: Comparison | None = None
        self.evaluations: list[Evaluation | None] = []  # `naswot-tui evaluate` per run, once computed
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
        self._evaluate(self.paths)

    @work(thread=True, group="evaluate", exclusive=True, exit_on_error=False)
    def _evaluate(self, paths: list[str]) -> None:
        """The evaluate report (proxies vs params/FLOPs, CIs, hit rates): slower
        (it rebuilds networks for params/FLOPs), so it fills in after the table."""
        from naswot_tui.core.evaluate import evaluate_trace
        from naswot_tui.core.trace import read_trace

        reports: list[Evaluation | None] = []
        for path in paths:
            try:
                reports.append(evaluate_trace(read_trace(path), resamples=200))
            except Exception:  # noqa: BLE001 - a run without ground truth just shows '-'
                reports.append(None)
        self.post_message(self.Evaluated(reports))

    @on(Evaluated)
    def _evaluated(self, message: Evaluated) -> None:
        self.evaluations = message.reports
        if self.comparison is not None:
            self._fill_table()

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
        for key, label, cells in evaluation_rows(comp, self.evaluations):
            differs = len({c.plain for c in cells}) > 1
            if self.diff_only and not differs:
                continue
            table.add_row(Text(("* " if differs else "  ") + label, style="italic"), *cells, key=key)

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
        rows = [{"field": row.label, **{r.label: v for r, v in zip(comp.runs, row.values, strict=True)},
                 "differs": row.differs} for row in comp.rows]
        self.app.export_rows("compare", rows)


def _target_result(report: Evaluation | None, proxy: str, dataset: str | None) -> ProxyResult | None:
    if report is None:
        return None
    return report.result_for(proxy, f"{dataset} test")


def evaluation_rows(comp: Comparison, reports: list[Evaluation | None]) -> list[tuple[str, str, list[Text]]]:
    """Rows from `naswot-tui evaluate` for each run's own dataset (test accuracy):
    Kendall tau with its 95% interval for the run's proxy and the
    params/FLOPs baselines, the top-5% hit rate and the argmax's accuracy."""
    if not reports:
        return []
    rows = []
    proxies = [("proxy", None), ("params", "params"), ("flops", "flops")]
    for key, fixed in proxies:
        cells = []
        for run, report in zip(comp.runs, reports, strict=True):
            proxy = fixed or (report.proxy if report else "naswot")
            cells.append(_tau_cell(_target_result(report, proxy, run.values.get("dataset"))))
        # Short labels (the label column is 16 wide at 80x24); the cell carries the 95% interval.
        rows.append((f"eval-tau-{key}", f"tau {key if fixed else 'score'}", cells))
    hits, argmax = [], []
    for run, report in zip(comp.runs, reports, strict=True):
        r = _target_result(report, report.proxy if report else "naswot", run.values.get("dataset"))
        top5 = r.hits("5%") if r else None
        hits.append(Text(f"{top5.hits}/{top5.k}" if top5 else "-"))
        acc = r.argmax.acc if r else None
        argmax.append(Text(f"{acc:.2f}" if acc is not None else "-"))
    rows.append(("eval-hits", "top-5% hits", hits))
    rows.append(("eval-argmax", "argmax acc", argmax))
    rows += lab_rows(comp, reports)
    return rows


def _tau_cell(result: ProxyResult | None) -> Text:
    """Kendall tau with its 95% interval, or '-' when there is none."""
    tau = result.kendall if result else None
    if tau is None or tau.value is None:
        return Text("-")
    ci = f" [{tau.low:+.2f},{tau.high:+.2f}]" if tau.ci95 else ""
    return Text(f"{tau.value:+.3f}{ci}")


def lab_rows(comp: Comparison, reports: list[Evaluation | None]) -> list[tuple[str, str, list[Text]]]:
    """Runs made with --proxies: Kendall tau [95% CI] and nDCG@10 of every other proxy they scored
    (ensembles included), against each run's own dataset's test accuracy."""
    names: list[str] = []
    for report in reports:
        for name in report.proxies if report else []:
            if name not in names and name not in ("params", "flops") and name != report.proxy:
                names.append(name)
    rows = []
    for name in names:
        taus, ndcgs = [], []
        for run, report in zip(comp.runs, reports, strict=True):
            r = _target_result(report, name, run.values.get("dataset"))
            taus.append(_tau_cell(r))
            ndcg = r.ndcg.get(10) if r else None
            ndcgs.append(Text("-" if ndcg is None else f"{ndcg:.3f}"))
        short = name.removeprefix("ensemble:")[:11]  # the label column is 16 wide at 80x24
        rows.append((f"eval-tau-lab-{name}", f"tau {short}", taus))
        rows.append((f"eval-ndcg-lab-{name}", f"nDCG {short}", ndcgs))
    return rows
