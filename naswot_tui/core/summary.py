"""Summaries of saved runs and best-so-far curves (rank statistics live in ``stats.py``)."""

from __future__ import annotations

import math
from typing import Any

from naswot_tui.core.search import is_better, summarize
from naswot_tui.core.trace import Trace


def run_summary(trace: Trace) -> dict[str, Any]:
    """One row per run: what the Runs screen and ``naswot-tui runs`` show."""
    cfg = trace.header.get("config", {})
    repeats = [trace.repeat_ends[r] for r in sorted(trace.repeat_ends)]
    summary = summarize(repeats)
    scores = [s.score for s in trace.scores if s.score is not None and not math.isnan(s.score)]
    duration = sum(r.elapsed_s for r in repeats) if repeats else sum(s.t_s for s in trace.scores)
    return {
        "path": str(trace.path), "name": trace.path.name, "status": trace.status,
        "space": cfg.get("space"), "dataset": cfg.get("dataset"), "search": cfg.get("search", "naswot"),
        "n": cfg.get("n"), "repeats": cfg.get("repeats"), "seed": cfg.get("seed"),
        "repeats_done": len(repeats), "scored": len(trace.scores),
        "errors": sum(1 for s in trace.scores if s.error),
        "best_score": max(scores) if scores else None,
        "acc_mean": summary.get("acc_mean"), "acc_std": summary.get("acc_std"),
        "duration_s": duration, "created": trace.header.get("created"),
        "hook_rule": trace.header.get("hook_rule"), "batch_size": trace.header.get("batch_size"),
        "data": trace.header.get("data"),
    }


def best_so_far(trace: Trace, repeat: int = 0) -> tuple[list[float | None], list[float | None]]:
    """Best score so far and the accuracy of that best, per candidate of a repeat."""
    best_score: float | None = None
    best_acc: float | None = None
    scores, accs = [], []
    for s in sorted(trace.scores_of(repeat), key=lambda s: s.i):
        if is_better(s.score, best_score):
            best_score, best_acc = s.score, s.acc
        scores.append(best_score)
        accs.append(best_acc)
    return scores, accs
