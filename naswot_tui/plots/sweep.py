"""``--kind sweep``: the paper's Table 2 N-sweep.

Traces are grouped by their N (NASWOT searches only); each group gives the
mean +- std (population std, as the paper) of its repeats' picked test
accuracy on the run's dataset, drawn against N on a log axis, beside the
paper's published NASWOT points for NB201 (``core.paper.NASWOT_TABLE2``).
"""

from __future__ import annotations

import numpy as np

from naswot_tui.core.errors import UsageError
from naswot_tui.core.paper import NASWOT_TABLE2
from naswot_tui.core.trace import Trace
from naswot_tui.plots.figure import grid


def groups(traces: list[Trace]) -> list[dict]:
    """One entry per (space, dataset, N): the picks' accuracies and their mean/std."""
    picks: dict[tuple, list[float]] = {}
    for trace in traces:
        c = trace.config
        if c.search != "naswot":
            continue
        for end in trace.repeat_ends.values():
            if end.pick_acc is not None:
                picks.setdefault((c.space, c.dataset, c.n), []).append(float(end.pick_acc))
    out = []
    for (space, dataset, n), accs in sorted(picks.items()):
        out.append({"space": space, "dataset": dataset, "n": n, "repeats": len(accs),
                    "mean": float(np.mean(accs)), "std": float(np.std(accs))})
    return out


def draw(traces: list[Trace], options: dict):
    found = groups(traces)
    if not found:
        raise UsageError("sweep: no NASWOT repeat with a known pick accuracy in these traces "
                         "(give traces of 'naswot-tui --headless --n N --repeats R' runs)")
    fig, axes = grid(1, 1, width=6.0, height=4.2)
    ax = axes[0][0]
    series: dict[tuple, list[dict]] = {}
    for g in found:
        series.setdefault((g["space"], g["dataset"]), []).append(g)
    for k, ((space, dataset), rows) in enumerate(sorted(series.items())):
        ns = [r["n"] for r in rows]
        ax.errorbar(ns, [r["mean"] for r in rows], yerr=[r["std"] for r in rows], marker="o", capsize=3,
                    color=f"C{k % 10}", label=f"ours: {space} {dataset}")
        for r in rows:
            ax.annotate(f"{r['repeats']}x", (r["n"], r["mean"]), textcoords="offset points", xytext=(-22, 6),
                        fontsize=7)
        if space == "nb201":
            paper = [(n, row.test[dataset]) for n, row in sorted(NASWOT_TABLE2.items()) if dataset in row.test]
            if paper:
                ax.errorbar([n * 1.08 for n, _ in paper], [m for _, (m, _) in paper],
                            yerr=[s for _, (_, s) in paper], marker="s", capsize=3, linestyle="--",
                            color=f"C{k % 10}", alpha=0.55, label=f"paper: NASWOT nb201 {dataset} (drawn at 1.08 N)")
    ax.set_xscale("log")
    ax.set_xlabel("N (architectures scored per repeat)")
    ax.set_ylabel("test accuracy of the pick (%), mean +- std")
    ax.set_title("N-sweep (the paper's Table 2)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig, {"groups": found}
