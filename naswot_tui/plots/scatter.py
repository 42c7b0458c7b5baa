"""``--kind scatter``: score against accuracy, the paper's Fig. 3.

One row of panels per trace, one panel per accuracy the ground truth knows
(the targets of ``naswot-tui evaluate``), over the same distinct
architectures ``evaluate`` ranks (``core.evaluate.scored_architectures``:
first occurrence, -inf kept and ranked last, failed/NaN left out). The
panel title carries Kendall's tau-b (``core.stats.kendall``, as ``evaluate``); -inf
scores cannot be drawn on a score axis, so the panel says how many it
counted without drawing them.
"""

from __future__ import annotations

import numpy as np

from naswot_tui.core.errors import UsageError
from naswot_tui.core.evaluate import known_targets, proxy_name, scored_architectures, trace_truth
from naswot_tui.core.stats import kendall, rank_ready
from naswot_tui.core.trace import Trace
from naswot_tui.plots.figure import grid, trace_label


def panel_data(trace: Trace) -> list[dict]:
    """Per target: label, scores, accuracies and Kendall tau (what the panel shows)."""
    truth, _ = trace_truth(trace)
    scored, _ = scored_architectures(trace)
    indices = list(scored)
    if not indices:
        return []
    panels = []
    for target in known_targets(truth, indices[0]):
        accs = np.array([truth.accuracy(i, target.dataset, target.split, target.epochs) for i in indices],
                        dtype=np.float64)
        scores = np.array([scored[i][1] for i in indices], dtype=np.float64)
        keep = np.isfinite(accs)
        scores, accs = scores[keep], accs[keep]
        tau = None
        if len(scores) >= 3:
            tau = kendall(rank_ready(scores), accs)
        panels.append({"target": target.label, "n": len(scores),
                       "n_neg_inf": int(np.count_nonzero(np.isneginf(scores))),
                       "kendall_tau": tau, "scores": scores, "accs": accs})
    return panels


def draw(traces: list[Trace], options: dict):
    per_trace = [(t, panel_data(t)) for t in traces]
    per_trace = [(t, p) for t, p in per_trace if p]
    if not per_trace:
        raise UsageError("scatter: no trace has proxy scores with known accuracies "
                         "(plain REA traces record trainings only)")
    n_cols = max(len(p) for _, p in per_trace)
    fig, axes = grid(len(per_trace), n_cols)
    summary = []
    for row, (trace, panels) in enumerate(per_trace):
        proxy = proxy_name(trace.header)
        for col in range(n_cols):
            ax = axes[row][col]
            if col >= len(panels):
                ax.set_axis_off()
                continue
            p = panels[col]
            finite = np.isfinite(p["scores"])
            ax.scatter(p["scores"][finite], p["accs"][finite], s=4, alpha=0.6, linewidths=0, color="tab:blue")
            tau = "n/a" if p["kendall_tau"] is None else f"{p['kendall_tau']:.3f}"
            ax.set_title(f"{p['target']}: Kendall tau = {tau}", fontsize=9)
            ax.set_xlabel(f"{proxy} score", fontsize=8)
            ax.set_ylabel("accuracy (%)", fontsize=8)
            ax.tick_params(labelsize=7)
            note = f"n = {p['n']}" + (f" ({p['n_neg_inf']} at -inf, not drawn)" if p["n_neg_inf"] else "")
            ax.text(0.02, 0.02, note, transform=ax.transAxes, fontsize=7, va="bottom")
            summary.append({"trace": str(trace.path), "target": p["target"], "n": p["n"],
                            "n_neg_inf": p["n_neg_inf"], "kendall_tau": p["kendall_tau"]})
        axes[row][0].annotate(trace_label(trace), xy=(0, 1.12), xycoords="axes fraction", fontsize=8,
                              ha="left", va="bottom")
    fig.tight_layout()
    return fig, {"panels": summary}
