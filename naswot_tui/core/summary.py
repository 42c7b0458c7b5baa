"""Summaries of saved runs and best-so-far curves (rank statistics live in ``stats.py``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from naswot_tui.core.errors import NaswotError
from naswot_tui.core.search import is_better, summarize
from naswot_tui.core.trace import Trace, lock_holder, read_trace


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


def run_row(path: Path) -> dict[str, Any]:
    """``run_summary`` of the trace at ``path``, or a row marking it unreadable with the reason
    (``status`` "unreadable", ``error``): one bad trace never hides the others. A trace whose
    writer is alive (it holds the lock) is ``running``, not ``incomplete``."""
    try:
        row = run_summary(read_trace(path))
    except NaswotError as exc:
        return {"path": str(path), "name": Path(path).name, "status": "unreadable", "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - a reader bug must not hide the other runs either
        return {"path": str(path), "name": Path(path).name, "status": "unreadable",
                "error": f"{path}: {type(exc).__name__}: {exc}"}
    if row["status"] == "incomplete" and lock_holder(path) is not None:
        row["status"] = "running"
    return row


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
