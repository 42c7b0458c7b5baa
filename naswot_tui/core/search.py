"""Searches as generators of events (docs/method.md §5.1).

A search knows nothing about devices, traces or screens: it asks an
evaluator (``evaluate(repeat, i, index)``) for each candidate's score and
yields events, starting each repeat it runs with a ``RepeatStarted`` (whose
batch description comes from the evaluator's ``begin_repeat``). An evaluator
with ``score_many`` (an executor behind it) returns records in arrival order;
the pick is the argmax by draw position either way (``better_of``).
Cancellation is cooperative: ``cancel`` (a threading.Event) is checked
between architectures; ``pause`` blocks between them while set.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from naswot_tui.core.benchmarks import DATASETS, GroundTruth
from naswot_tui.core.config import RunConfig, shard_bounds
from naswot_tui.core.events import ArchScored, Event, RepeatFinished, RepeatStarted
from naswot_tui.core.spaces import SearchSpace


class Evaluate(Protocol):
    """What a search scores with (core.engine.ArchEvaluator; tui.fake.FakeEvaluator)."""

    def __call__(self, repeat: int, i: int, index: int) -> ArchScored:
        """Score one candidate; never raises for a bad architecture (the error is on the record)."""

    def begin_repeat(self, repeat: int) -> RepeatStarted:
        """Get ready for ``repeat`` (its minibatch); describe it."""


def repeat_started(evaluate: Evaluate, repeat: int, total: int) -> RepeatStarted:
    """The event that opens a repeat: the evaluator's batch, the search's expected event count."""
    return replace(evaluate.begin_repeat(repeat), repeat=repeat, total=total)


class Cancelled(Exception):
    """Raised inside a search when its cancel event is set."""


@dataclass
class Control:
    """Cooperative run control shared by a worker thread and its front end."""

    cancel: threading.Event = field(default_factory=threading.Event)
    pause: threading.Event = field(default_factory=threading.Event)

    def checkpoint(self) -> None:
        while self.pause.is_set() and not self.cancel.is_set():
            time.sleep(0.05)
        if self.cancel.is_set():
            raise Cancelled()


@dataclass
class ResumeState:
    """What a trace already holds: finished repeats and scored candidates."""

    finished: dict[int, RepeatFinished] = field(default_factory=dict)
    scored: dict[tuple[int, int], ArchScored] = field(default_factory=dict)  # (repeat, i) -> record


def sample_indices(space: SearchSpace, n: int, seed: int, repeat: int, unique: bool = False) -> list[int]:
    """The repeat's draw: uniform with replacement (the reference) or without."""
    rng = np.random.default_rng([int(seed), int(repeat)])
    if not space.dense:
        everything = getattr(space, "all_indices", None)
        if unique and everything is not None and n >= getattr(space, "num_modules", n + 1):   # --n all: enumerate
            return [int(x) for x in rng.permutation(np.asarray(everything(), dtype=np.int64))]
        # Sparse index space: draw through the space's own uniform sampler.
        if not unique:
            return [space.sample(rng) for _ in range(n)]
        drawn: dict[int, None] = {}
        while len(drawn) < n:
            drawn.setdefault(space.sample(rng))
        return list(drawn)
    if unique:
        n = min(n, space.size)
        return [int(x) for x in rng.choice(space.size, size=n, replace=False)]
    return [int(x) for x in rng.integers(space.size, size=n)]


def is_better(score: float | None, best: float | None) -> bool:
    """Argmax ignoring null/NaN; ties keep the first drawn."""
    if score is None or math.isnan(score):
        return False
    return best is None or score > best


def better_of(best: ArchScored | None, rec: ArchScored) -> ArchScored | None:
    """The argmax so far, whatever order records arrive in: higher score wins,
    an equal score goes to the earlier draw position ``i`` (ties = first drawn)."""
    if best is None or best.score is None:
        return rec if is_better(rec.score, None) else best
    if is_better(rec.score, best.score) or (rec.score == best.score and rec.i < best.i):
        return rec
    return best


def _score_all(evaluate: Evaluate, repeat: int, todo: list[tuple[int, int]],
               control: Control) -> Iterator[ArchScored]:
    """Records for ``todo``: through the evaluator's executor when it has one
    (``score_many``: arrival order), else one call per architecture. The
    control is checked before each architecture (pause, cancel)."""
    score_many = getattr(evaluate, "score_many", None)
    if score_many is None:
        for i, index in todo:
            control.checkpoint()
            yield evaluate(repeat, i, index)
        return
    records = score_many(repeat, todo)
    while True:
        control.checkpoint()
        rec = next(records, None)
        if rec is None:
            return
        yield rec


def pick_accuracies(truth: GroundTruth, index: int) -> dict[str, dict[str, float]]:
    """Every accuracy the ground truth knows for the pick (200-epoch)."""
    out: dict[str, dict[str, float]] = {}
    for ds in DATASETS:
        for split in ("test", "valid"):
            value = truth.accuracy(index, ds, split, 200)
            if value is not None:
                out.setdefault(ds, {})[split] = value
    return out


def naswot_search(config: RunConfig, space: SearchSpace, evaluate: Evaluate, truth: GroundTruth,
                  control: Control | None = None, resume: ResumeState | None = None,
                  clock: Callable[[], float] = time.perf_counter) -> Iterator[Event]:
    """NASWOT-N: score N random architectures, pick the argmax; R repeats.
    ``clock`` times each repeat (``elapsed_s``)."""
    control = control or Control()
    resume = resume or ResumeState()
    for repeat in range(config.repeats):
        if repeat in resume.finished:
            # Replay so front ends rebuild their state; the trace has these already.
            for i in range(config.n):
                rec = resume.scored.get((repeat, i))
                if rec is not None:
                    yield rec
            yield resume.finished[repeat]
            continue
        indices = sample_indices(space, config.n, config.seed, repeat, config.unique)
        lo, hi = shard_bounds(config.shard, len(indices))   # --shard K/N: this job's slice of the draw
        yield repeat_started(evaluate, repeat, hi - lo)
        started = clock()
        elapsed_before = 0.0
        best: ArchScored | None = None
        n_errors = 0
        todo: list[tuple[int, int]] = []
        for i in range(lo, hi):
            rec = resume.scored.get((repeat, i))
            if rec is None:
                todo.append((i, indices[i]))
                continue
            elapsed_before += rec.t_s
            yield rec
            n_errors += bool(rec.error)
            best = better_of(best, rec)
        for rec in _score_all(evaluate, repeat, todo, control):
            yield rec
            n_errors += bool(rec.error)
            best = better_of(best, rec)
        yield RepeatFinished(
            repeat=repeat, pick_index=best.index if best else None, pick_arch=best.arch if best else None,
            pick_score=best.score if best else None,
            pick_acc=truth.accuracy(best.index, config.dataset, "test", 200) if best else None,
            pick_accs=pick_accuracies(truth, best.index) if best else {},
            elapsed_s=clock() - started + elapsed_before,
            n_scored=hi - lo, n_errors=n_errors,
        )


def summarize(repeats: list[RepeatFinished]) -> dict[str, Any]:
    """Mean +- std (population, as the paper's tables) of the picks' accuracies."""
    accs = [r.pick_acc for r in repeats if r.pick_acc is not None]
    times = [r.elapsed_s for r in repeats]
    summary: dict[str, Any] = {"repeats": len(repeats)}
    if accs:
        summary.update(acc_mean=float(np.mean(accs)), acc_std=float(np.std(accs)))
    if times:
        summary.update(time_mean_s=float(np.mean(times)))
    per_ds: dict[str, dict[str, dict[str, float]]] = {}
    for ds in DATASETS:
        for split in ("test", "valid"):
            vals = [r.pick_accs[ds][split] for r in repeats if split in r.pick_accs.get(ds, {})]
            if vals:
                per_ds.setdefault(ds, {})[split] = {"mean": float(np.mean(vals)), "std": float(np.std(vals))}
    if per_ds:
        summary["accs"] = per_ds
    return summary
