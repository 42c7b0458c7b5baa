"""Regularised evolution (REA) and assisted REA (AREA): docs/method.md §5.2.

Both are generators of the same events as ``search.naswot_search``
(each repeat they run opens with a ``RepeatStarted``):

- AREA first scores a pool of ``pool_size`` random architectures with the
  run's proxy (NASWOT by default): one ``ArchScored`` per member,
  ``extra["phase"] = "pool"``. The best ``seed_top_k`` distinct ones seed
  the population.
- Plain REA seeds the population with ``seed_top_k`` random architectures.
- Then regularised evolution: sample a tournament of ``tournament_size``
  from the population, mutate the fittest (one edge op / one width), "train"
  the child, push it, drop the oldest. Every training is an ``ArchScored``
  with ``score = None`` (no proxy was computed) and ``extra`` holding
  ``phase`` ("init" or "evolve"), ``fitness``, ``cost_s`` and the simulated
  clock ``sim_time_s``.

Fitness follows NAS-Bench-201's own REA protocol: the 12-epoch validation
accuracy (for CIFAR-10 the ``cifar10-valid`` / ``x-valid`` number). The pick
is the fittest architecture ever trained, reported with its 200-epoch
accuracies. "Training" costs the benchmark's 12-epoch training time when the
ground truth knows it (budget: simulated seconds, default 12000 as in the
paper); the embedded table has no times, so the budget is then a number of
trainings (default 100, roughly 12000 s at the 60-150 s a 12-epoch NB201
run takes in the NATS fixture). Which one was used is recorded in every
``repeat_end``. Proxy scoring time is not charged to the simulated clock:
the clock stays deterministic, so a resumed run picks what an uninterrupted
one would.

Determinism: pool draws reuse ``search.sample_indices`` (an AREA pool equals
the first ``pool_size`` draws of NASWOT-N with the same seed); evolution
draws come from ``default_rng([seed, repeat, 1])``. Resume replays recorded
steps through the same algorithm, so the path and the pick are identical.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeGuard

import numpy as np

from naswot_tui.core.benchmarks import GroundTruth
from naswot_tui.core.config import RunConfig
from naswot_tui.core.errors import BenchmarkError, TraceError
from naswot_tui.core.events import ArchScored, Event, RepeatFinished
from naswot_tui.core.search import (
    Control,
    Evaluate,
    ResumeState,
    pick_accuracies,
    repeat_started,
    sample_indices,
)
from naswot_tui.core.spaces import SearchSpace

DEFAULT_BUDGET_S = 12000.0   # paper and NB201: 12000 simulated seconds on NB201
DEFAULT_BUDGET_EVALS = 100   # when the benchmark gives no training times
FITNESS_EPOCHS = 12          # NB201's REA fitness: 12-epoch validation accuracy
_FITNESS_KEY = {"cifar10": "cifar10-valid x-valid", "cifar100": "cifar100 x-valid",
                "ImageNet16-120": "ImageNet16-120 x-valid"}


@dataclass(frozen=True)
class Budget:
    kind: str          # "time" (simulated seconds) | "evals" (trainings)
    value: float
    note: str
    fallback_cost_s: float = 0.0   # charged for an architecture whose time the benchmark lacks

    def spent(self, clock_s: float, n_evals: int) -> bool:
        return (clock_s if self.kind == "time" else n_evals) >= self.value


def plan_budget(config: RunConfig, truth: GroundTruth) -> Budget:
    """Seconds when the ground truth has 12-epoch training times, else trainings."""
    probe = truth.train_time(0, config.dataset, FITNESS_EPOCHS)
    probe_s = probe if probe is not None and math.isfinite(probe) and probe > 0 else None  # None: no usable times
    if config.budget_s is not None:
        if probe_s is None:
            raise BenchmarkError(
                f"--budget-s needs training times, and {truth.source} has none for {config.dataset}; "
                "use --budget-evals, or pass a NAS-Bench-201 / NATS-Bench file with --benchmark-file")
        return Budget("time", float(config.budget_s), "simulated 12-epoch training seconds (--budget-s)", probe_s)
    if config.budget_evals is not None:
        return Budget("evals", float(config.budget_evals), "trainings (--budget-evals)")
    if probe_s is not None:
        return Budget("time", DEFAULT_BUDGET_S, "simulated 12-epoch training seconds (paper default 12000)", probe_s)
    return Budget("evals", float(DEFAULT_BUDGET_EVALS),
                  f"{DEFAULT_BUDGET_EVALS} trainings: {truth.source} has no training times, "
                  "so the paper's 12000 s budget is approximated by a count")


def expected_events(config: RunConfig, truth: GroundTruth) -> int:
    """About how many events a repeat emits, for progress bars: the AREA pool
    plus the trainings (exact for a count budget; for a time budget estimated
    from the probe architecture's training time)."""
    budget = plan_budget(config, truth)
    pool = config.pool_size if config.search == "area" else 0
    trainings = budget.value if budget.kind == "evals" else budget.value / max(budget.fallback_cost_s, 1e-9)
    return pool + max(int(math.ceil(trainings)), config.seed_top_k)


class _Trainer:
    """Fitness lookups charged to a simulated clock."""

    def __init__(self, config: RunConfig, space: SearchSpace, truth: GroundTruth, budget: Budget) -> None:
        self.config, self.space, self.truth, self.budget = config, space, truth, budget
        self.clock = 0.0
        self.n_evals = 0
        self._known_costs: list[float] = []

    def fitness(self, index: int) -> float:
        value = self.truth.accuracy(index, self.config.dataset, "valid", FITNESS_EPOCHS)
        if value is None or math.isnan(value):
            raise BenchmarkError(
                f"REA/AREA need the {FITNESS_EPOCHS}-epoch validation accuracy of {self.config.dataset} "
                f"architecture {index}, and {self.truth.source} does not have it")
        return float(value)

    def cost(self, index: int) -> tuple[float | None, bool]:
        """(seconds, estimated). A cut-down benchmark may lack an architecture's
        time: charge the mean of the times seen so far (never 0, so the clock
        always advances and the search ends)."""
        if self.budget.kind != "time":
            return None, False
        value = self.truth.train_time(index, self.config.dataset, FITNESS_EPOCHS)
        if value is not None and math.isfinite(value) and value > 0:
            self._known_costs.append(float(value))
            return float(value), False
        known = self._known_costs or [self.budget.fallback_cost_s]
        return float(np.mean(known)), True

    def train(self, repeat: int, i: int, index: int, phase: str, parent: int | None,
              resume: ResumeState) -> ArchScored:
        rec = resume.scored.get((repeat, i))
        if rec is not None:
            _check_replay(rec, repeat, i, index)
            fitness, cost = float(rec.extra["fitness"]), rec.extra.get("cost_s")
            if cost is not None:
                self._known_costs.append(float(cost))
        else:
            started = time.perf_counter()
            fitness = self.fitness(index)
            cost, estimated = self.cost(index)
            extra = {"phase": phase, "fitness": fitness, "cost_s": cost}
            if estimated:
                extra["cost_estimated"] = True
            if parent is not None:
                extra["parent"] = parent
            rec = ArchScored(repeat=repeat, i=i, index=index, arch=self.space.arch(index), score=None,
                             t_s=time.perf_counter() - started, params=self.truth.params(index),
                             acc=self.truth.accuracy(index, self.config.dataset, "test", 200), extra=extra)
        self.clock += cost or 0.0
        self.n_evals += 1
        if rec.replayed:
            return rec
        rec.extra["sim_time_s"] = self.clock if self.budget.kind == "time" else None
        rec.extra["n_evals"] = self.n_evals
        return rec


def _check_replay(rec: ArchScored, repeat: int, i: int, index: int) -> None:
    if rec.index != index:
        raise TraceError(f"cannot resume: step {i} of repeat {repeat} in the trace is architecture {rec.index}, "
                         f"but the search now draws {index} (was the trace made by another version or config?)")


def search(config: RunConfig, space: SearchSpace, evaluate: Evaluate, truth: GroundTruth,
           control: Control | None = None, resume: ResumeState | None = None,
           clock: Callable[[], float] = time.perf_counter) -> Iterator[Event]:
    """REA (``config.search == "rea"``) or AREA (``"area"``); ``config.repeats`` repeats.
    ``clock`` times each repeat (``elapsed_s``)."""
    control = control or Control()
    resume = resume or ResumeState()
    budget = plan_budget(config, truth)
    total = expected_events(config, truth)
    for repeat in range(config.repeats):
        if repeat in resume.finished:
            for key in sorted(k for k in resume.scored if k[0] == repeat):
                yield resume.scored[key]
            yield resume.finished[repeat]
            continue
        yield repeat_started(evaluate, repeat, total)
        yield from _one_repeat(config, space, evaluate, truth, control, resume, budget, repeat, clock)


def _one_repeat(config: RunConfig, space: SearchSpace, evaluate: Evaluate, truth: GroundTruth,
                control: Control, resume: ResumeState, budget: Budget, repeat: int,
                clock: Callable[[], float]) -> Iterator[Event]:
    started = clock()
    replayed_s = 0.0
    rng = np.random.default_rng([int(config.seed), int(repeat), 1])
    trainer = _Trainer(config, space, truth, budget)
    i = 0
    n_errors = 0
    proxy_scores: dict[int, float] = {}

    def emitted(rec: ArchScored) -> ArchScored:
        nonlocal replayed_s
        if rec.replayed:
            replayed_s += rec.t_s
        return rec

    # 1. AREA: score the pool with the proxy; the best k distinct seed the population.
    if config.search == "area":
        pool = []
        for index in sample_indices(space, config.pool_size, config.seed, repeat, config.unique):
            control.checkpoint()
            rec = resume.scored.get((repeat, i))
            if rec is not None:
                _check_replay(rec, repeat, i, index)
            else:
                rec = evaluate(repeat, i, index)
                rec.extra = {**rec.extra, "phase": "pool"}
            yield emitted(rec)
            n_errors += bool(rec.error)
            pool.append(rec)
            if _valid(rec.score):
                proxy_scores.setdefault(rec.index, rec.score)
            i += 1
        # Valid scores first, best first; ties keep draw order (sort is stable).
        ranked = sorted(pool, key=lambda r: (not _valid(r.score), -(r.score if _valid(r.score) else 0.0)))
        seeds: list[int] = []
        for r in ranked:
            if r.index not in seeds:
                seeds.append(r.index)
        seeds = seeds[:config.seed_top_k]
    else:
        seeds = [space.sample(rng) for _ in range(config.seed_top_k)]

    # 2. Train the initial population.
    population: deque[tuple[int, float]] = deque()
    history: list[tuple[int, float]] = []
    for index in seeds:
        if history and budget.spent(trainer.clock, trainer.n_evals):
            break
        control.checkpoint()
        rec = trainer.train(repeat, i, index, "init", None, resume)
        yield emitted(rec)
        i += 1
        population.append((index, float(rec.extra["fitness"])))
        history.append(population[-1])

    # 3. Regularised evolution until the budget is spent (the last child may overshoot, as in NB201).
    while not budget.spent(trainer.clock, trainer.n_evals):
        control.checkpoint()
        size = min(config.tournament_size, len(population))
        contenders = [population[int(k)] for k in rng.choice(len(population), size=size, replace=False)]
        parent = max(contenders, key=lambda c: c[1])[0]  # ties: first sampled
        child = space.mutate(parent, rng)
        rec = trainer.train(repeat, i, child, "evolve", parent, resume)
        yield emitted(rec)
        i += 1
        population.append((child, float(rec.extra["fitness"])))
        population.popleft()
        history.append(population[-1])

    best_index, best_fitness = max(history, key=lambda c: c[1])  # ties: trained first
    yield RepeatFinished(
        repeat=repeat, pick_index=best_index, pick_arch=space.arch(best_index),
        pick_score=proxy_scores.get(best_index),
        pick_acc=truth.accuracy(best_index, config.dataset, "test", 200),
        pick_accs=pick_accuracies(truth, best_index),
        elapsed_s=clock() - started + replayed_s,
        n_scored=i, n_errors=n_errors,
        extra={"search": config.search, "pick_fitness": best_fitness,
               "fitness": f"{_FITNESS_KEY.get(config.dataset, config.dataset)} @ {FITNESS_EPOCHS} epochs",
               "sim_time_s": trainer.clock if budget.kind == "time" else None, "n_evals": trainer.n_evals,
               "budget_kind": budget.kind, "budget": budget.value, "budget_note": budget.note,
               "pool_size": config.pool_size if config.search == "area" else 0,
               "population": config.seed_top_k, "tournament_size": config.tournament_size,
               "proxy_time_charged": False},
    )


def _valid(score: float | None) -> TypeGuard[float]:
    return score is not None and not math.isnan(score)
