"""``--kind curves``: best-so-far accuracy against N and against wall time.

For each repeat, the accuracy of the architecture holding the best score
so far (``core.summary.best_so_far``: what the search would pick if it
stopped there). Per trace the curve is the mean over repeats with a shaded
spread (mean +- std; with one repeat no band). Time is the repeat's
cumulative scoring time (the records' ``t_s``), resampled onto a common
grid of 200 points so repeats of different speed can be averaged; past a
repeat's end its last value holds.
"""

from __future__ import annotations

import warnings

import numpy as np

from naswot_tui.core.errors import UsageError
from naswot_tui.core.summary import best_so_far
from naswot_tui.core.trace import Trace
from naswot_tui.plots.figure import grid, trace_label

TIME_POINTS = 200


def repeat_curves(trace: Trace) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per repeat: (cumulative seconds, best-so-far accuracy), known accuracies only."""
    out = []
    for repeat in sorted({s.repeat for s in trace.scores}):
        records = sorted(trace.scores_of(repeat), key=lambda s: s.i)
        _, accs = best_so_far(trace, repeat)
        times = np.cumsum([s.t_s for s in records])
        acc = np.array([np.nan if a is None else a for a in accs], dtype=np.float64)
        if np.isfinite(acc).any():
            out.append((times, acc))
    return out


def _mean_spread(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    stack = np.vstack(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (no pick yet) stay NaN
        return np.nanmean(stack, axis=0), np.nanstd(stack, axis=0)


def trace_curves(trace: Trace) -> dict | None:
    """Mean and std of best-so-far accuracy by N and on a time grid."""
    curves = repeat_curves(trace)
    if not curves:
        return None
    n_max = max(len(a) for _, a in curves)
    by_n = [np.concatenate([a, np.full(n_max - len(a), a[-1])]) for _, a in curves]
    mean_n, std_n = _mean_spread(by_n)
    t_end = max(float(t[-1]) for t, _ in curves)
    grid_t = np.linspace(0.0, t_end, TIME_POINTS)
    by_t = []
    for t, a in curves:
        # step function: before the first record there is no pick (NaN)
        pos = np.searchsorted(t, grid_t, side="right") - 1
        by_t.append(np.where(pos >= 0, a[np.clip(pos, 0, None)], np.nan))
    mean_t, std_t = _mean_spread(by_t)
    return {"repeats": len(curves), "n": np.arange(1, n_max + 1), "mean_n": mean_n, "std_n": std_n,
            "t": grid_t, "mean_t": mean_t, "std_t": std_t}


def draw(traces: list[Trace], options: dict):
    fig, axes = grid(1, 2, width=5.5, height=4.0)
    ax_n, ax_t = axes[0]
    summary = []
    for k, trace in enumerate(traces):
        c = trace_curves(trace)
        if c is None:
            continue
        colour = f"C{k % 10}"
        label = f"{trace_label(trace)} ({c['repeats']} repeat{'s' if c['repeats'] != 1 else ''})"
        for ax, x, mean, std in ((ax_n, c["n"], c["mean_n"], c["std_n"]), (ax_t, c["t"], c["mean_t"], c["std_t"])):
            ax.plot(x, mean, color=colour, label=label, linewidth=1.2)
            if c["repeats"] > 1:
                ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.2, linewidth=0)
        summary.append({"trace": str(trace.path), "repeats": c["repeats"], "n_max": int(c["n"][-1]),
                        "final_mean_acc": float(c["mean_n"][-1]), "final_std_acc": float(c["std_n"][-1])})
    if not summary:
        raise UsageError("curves: no trace has scored architectures with known accuracies")
    ax_n.set_xlabel("architectures scored (N)")
    ax_t.set_xlabel("scoring time (s)")
    for ax in (ax_n, ax_t):
        ax.set_ylabel("accuracy of best-so-far pick (%)")
        ax.grid(alpha=0.3)
    ax_n.set_title("best so far against N (mean, band: +- std over repeats)", fontsize=9)
    ax_t.set_title("best so far against wall time", fontsize=9)
    ax_n.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig, {"curves": summary}
