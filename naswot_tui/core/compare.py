"""Summaries of saved runs, best-so-far curves and rank correlations."""

from __future__ import annotations

import math

import numpy as np

from naswot_tui.core.search import is_better, summarize
from naswot_tui.core.trace import Trace


def run_summary(trace: Trace) -> dict:
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


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean rank), as scipy's rankdata."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    sorted_vals = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(x, y) -> float | None:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 3:
        return None
    rx, ry = _ranks(x), _ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def kendall_tau(x, y) -> float | None:
    """Kendall's tau-b (handles ties), O(n^2) vectorised; fine for n <= ~20k."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = len(x)
    if n < 3:
        return None
    concordant = discordant = ties_x = ties_y = 0
    for i in range(n - 1):
        dx = np.sign(x[i + 1:] - x[i])
        dy = np.sign(y[i + 1:] - y[i])
        prod = dx * dy
        concordant += int((prod > 0).sum())
        discordant += int((prod < 0).sum())
        ties_x += int(((dx == 0) & (dy != 0)).sum())
        ties_y += int(((dy == 0) & (dx != 0)).sum())
    denom = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return None if denom == 0 else (concordant - discordant) / denom


def score_accuracy_pairs(trace: Trace) -> tuple[list[float], list[float]]:
    """Scores with known accuracies, one pair per distinct architecture.

    ``-inf`` is a valid score: it is kept and ranked last (as ``evaluate``
    does), by standing in a finite value below every other score. Failed
    (null) and NaN scores are left out.
    """
    from naswot_tui.core.evaluate import rank_ready

    seen: dict[int, tuple[float, float]] = {}
    for s in trace.scores:
        if s.score is not None and not math.isnan(s.score) and s.score != math.inf and s.acc is not None:
            seen.setdefault(s.index, (s.score, s.acc))
    scores = rank_ready(np.array([v[0] for v in seen.values()], dtype=np.float64))
    return [float(x) for x in scores], [v[1] for v in seen.values()]
