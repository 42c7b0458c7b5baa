"""Side-by-side comparison of 2 to 10 saved runs.

Shared by ``naswot-tui compare A B ... [--json]`` and the TUI Compare
screen, so both show the same numbers: config and result rows (with which
values differ and which run is best/worst), mean best-so-far curves over
repeats, and score/accuracy rank correlations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from naswot_tui.core.errors import UsageError
from naswot_tui.core.stats import kendall, rank_ready, spearman
from naswot_tui.core.summary import best_so_far, run_summary
from naswot_tui.core.trace import Trace, read_trace

MIN_RUNS, MAX_RUNS = 2, 10

# (key, label, where it comes from, which direction is better: "high" | "low" | None)
ROWS: tuple[tuple[str, str, str, str | None], ...] = (
    ("space", "space", "config", None),
    ("dataset", "dataset", "config", None),
    ("search", "search", "config", None),
    ("n", "N", "config", None),
    ("repeats", "repeats", "config", None),
    ("seed", "seed", "config", None),
    ("batch_size", "batch size", "config", None),
    ("hook_rule", "hook rule", "config", None),
    ("data", "data", "config", None),
    ("proxy", "proxy", "config", None),
    ("device", "device", "env", None),
    ("status", "status", "result", None),
    ("scored", "scored", "result", None),
    ("errors", "errors", "result", "low"),
    ("best_score", "best score", "result", "high"),
    ("acc_mean", "pick acc mean", "result", "high"),
    ("acc_std", "pick acc std", "result", "low"),
    ("kendall_tau", "Kendall tau", "result", "high"),
    ("spearman_rho", "Spearman rho", "result", "high"),
    ("duration_s", "time (s)", "result", "low"),
)


@dataclass
class RunColumn:
    label: str                 # "A", "B", ... (legend letter)
    name: str                  # trace file name
    path: str
    values: dict[str, Any]     # key -> value for every ROWS key
    curve_score: list[float | None] = field(default_factory=list)  # mean best-so-far score per candidate
    curve_acc: list[float | None] = field(default_factory=list)    # mean accuracy of the best so far


@dataclass
class Row:
    key: str
    label: str
    kind: str
    values: list[Any]
    differs: bool
    best: list[int] = field(default_factory=list)    # column positions holding the best value
    worst: list[int] = field(default_factory=list)


@dataclass
class Comparison:
    runs: list[RunColumn]
    rows: list[Row]

    def to_json(self, curves: bool = True) -> dict[str, Any]:
        return {
            "runs": [{"label": r.label, "name": r.name, "path": r.path, **r.values,
                      **({"best_so_far_score": r.curve_score, "best_so_far_acc": r.curve_acc} if curves else {})}
                     for r in self.runs],
            "rows": [{"key": row.key, "label": row.label, "kind": row.kind, "values": row.values,
                      "differs": row.differs, "best": [self.runs[i].label for i in row.best],
                      "worst": [self.runs[i].label for i in row.worst]} for row in self.rows],
        }


def score_accuracy_pairs(trace: Trace) -> tuple[list[float], list[float]]:
    """Scores with known accuracies, one pair per distinct architecture.

    ``-inf`` is a valid score: it is kept and ranked last (as ``evaluate``
    does), by standing in a finite value below every other score. Failed
    (null) and NaN scores are left out.
    """
    seen: dict[int, tuple[float, float]] = {}
    for s in trace.scores:
        if s.score is not None and not math.isnan(s.score) and s.score != math.inf and s.acc is not None:
            seen.setdefault(s.index, (s.score, s.acc))
    scores = rank_ready([v[0] for v in seen.values()])
    return [float(x) for x in scores], [v[1] for v in seen.values()]


def mean_best_so_far(trace: Trace) -> tuple[list[float | None], list[float | None]]:
    """Best-so-far score (and its accuracy) per candidate, averaged over repeats."""
    repeats = sorted({s.repeat for s in trace.scores})
    curves = [best_so_far(trace, r) for r in repeats]
    length = max((len(c[0]) for c in curves), default=0)

    def mean_at(series: list[list[float | None]], i: int) -> float | None:
        vals = [v for s in series if i < len(s) and (v := s[i]) is not None and math.isfinite(v)]
        return sum(vals) / len(vals) if vals else None

    scores = [mean_at([c[0] for c in curves], i) for i in range(length)]
    accs = [mean_at([c[1] for c in curves], i) for i in range(length)]
    return scores, accs


def _finite(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def compare_traces(traces: list[Trace], curves: bool = True) -> Comparison:
    if not MIN_RUNS <= len(traces) <= MAX_RUNS:
        raise UsageError(f"compare takes {MIN_RUNS} to {MAX_RUNS} runs (got {len(traces)})")
    columns: list[RunColumn] = []
    for k, trace in enumerate(traces):
        summary = run_summary(trace)
        cfg = trace.header.get("config", {})
        xs, ys = score_accuracy_pairs(trace)
        values: dict[str, Any] = {key: cfg.get(key, summary.get(key)) for key, _, src, _ in ROWS if src == "config"}
        values["device"] = (trace.header.get("env") or {}).get("device")
        for key in ("status", "scored", "errors", "best_score", "acc_mean", "acc_std", "duration_s"):
            values[key] = summary.get(key)
        values["kendall_tau"] = kendall(xs, ys)
        values["spearman_rho"] = spearman(xs, ys)
        col = RunColumn(label=chr(ord("A") + k), name=trace.path.name, path=str(trace.path), values=values)
        if curves:
            col.curve_score, col.curve_acc = mean_best_so_far(trace)
        columns.append(col)
    rows = []
    for key, label, src, better in ROWS:
        vals = [c.values.get(key) for c in columns]
        row = Row(key, label, src, vals, differs=len({repr(v) for v in vals}) > 1)
        nums = [(i, v) for i, v in enumerate(vals) if _finite(v)]
        # Highlight only when there is a real choice: two runs with different values.
        if better and len(nums) >= 2 and len({v for _, v in nums}) > 1:
            hi, lo = max(v for _, v in nums), min(v for _, v in nums)
            top, bottom = (hi, lo) if better == "high" else (lo, hi)
            row.best = [i for i, v in nums if v == top]
            row.worst = [i for i, v in nums if v == bottom]
        rows.append(row)
    return Comparison(columns, rows)


def compare_paths(paths: list[str | Path], curves: bool = True) -> Comparison:
    return compare_traces([read_trace(p) for p in paths], curves=curves)


def format_value(key: str, value: object) -> str:
    """One short cell, the same in the CLI table and the TUI."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isinf(value):
            return "-inf" if value < 0 else "inf"
        if key in ("kendall_tau", "spearman_rho"):
            return f"{value:+.3f}"
        if key == "duration_s":
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def format_table(comp: Comparison, diff_only: bool = False) -> str:
    """Plain text: one line per row, one column per run; '*' marks rows that differ."""
    header = ["", *[c.label for c in comp.runs]]
    body = [[("*" if r.differs else " ") + r.label,
             *[format_value(r.key, v) + ("+" if i in r.best else "-" if i in r.worst else "")
               for i, v in enumerate(r.values)]]
            for r in comp.rows if r.differs or not diff_only]
    widths = [max(len(line[j]) for line in [header, *body]) for j in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
             for line in [header, *body]]
    legend = [f"{c.label}: {c.path}" for c in comp.runs]
    notes = "* differs   + best   - worst"
    return "\n".join([*legend, "", *lines, "", notes])
