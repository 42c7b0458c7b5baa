"""A torch-free stand-in for the scorer, for UI tests, snapshots and demos.

Only the *scoring* is fake: ``FakeEvaluator`` gives each architecture of a
small NB201-shaped ``FakeSpace`` a deterministic score, accuracy and size
without building a network. Everything else is the real thing: the real
search (``core.search`` / ``core.evolution``) draws the candidates, picks
the argmax and emits the events, and the real ``core.engine.Run`` writes the
trace through its trace sink (header, flushes, footer), so cancel, resume,
runs and compare work on the output exactly as on a real run.
"""

from __future__ import annotations

import math
import random
import threading
from pathlib import Path

import numpy as np

from naswot_tui.core.config import RunConfig
from naswot_tui.core.errors import UsageError
from naswot_tui.core.events import ArchScored, LogMessage, RepeatStarted, RunStarted
from naswot_tui.core.search import Control
from naswot_tui.core.spaces.base import SearchSpace

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
SPACE_SIZE = 5 ** 6
FAKE_BATCH = "fake batch"
FAKE_FINGERPRINT = "0" * 16
FAKE_T_S = 0.05    # seconds charged per candidate: a steady rate for ETA and timing displays
FAKE_CREATED = "2026-01-02T03:04:05+00:00"  # header timestamp: snapshots show the date


def fake_arch(index: int) -> str:
    """NB201-format string for ``index`` (base-5 digits as ops)."""
    ops = [OPS[(index // 5 ** k) % 5] for k in range(6)]
    return f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|"


class FakeSpace(SearchSpace):
    """5^6 NB201-shaped cells; index = the six ops as base-5 digits. It cannot build networks."""

    name = "fake"
    description = "torch-free fake space for UI tests"
    datasets = ("cifar10", "cifar100", "ImageNet16-120")

    @property
    def size(self) -> int:
        return SPACE_SIZE

    def arch(self, index: int) -> str:
        return fake_arch(self._check_index(index))

    def index(self, arch: str) -> int:
        try:
            ops = [edge.split("~")[0] for node in arch.split("+") for edge in node.strip("|").split("|")]
            return sum(OPS.index(op) * 5 ** k for k, op in enumerate(ops))
        except ValueError:
            raise UsageError(f"malformed fake arch {arch!r}") from None

    def build(self, arch: str, num_classes: int = 1):
        raise UsageError("the fake space has no networks; it is scored by FakeEvaluator")

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        digit = int(rng.integers(6))
        old = (index // 5 ** digit) % 5
        new = [c for c in range(5) if c != old][int(rng.integers(4))]
        return index + (new - old) * 5 ** digit


class FakeTruth:
    """Accuracies that follow the fake score loosely (so the picks look plausible)."""

    source = "fake"

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def accuracy(self, index: int | None, dataset: str, split: str = "test", epochs: int = 200) -> float | None:
        if index is None:
            return None
        rng = random.Random(index * 7919 + len(dataset) * 31 + len(split) + epochs)
        base = 80.0 + (_fake_score(self.seed, index) - 1400.0) / 15.0 - (epochs < 200) * 8.0
        return round(min(94.0, max(10.0, base + rng.uniform(-2, 2))), 2)

    def params(self, index: int) -> float | None:
        return round(0.1 + (index % 97) / 70.0, 3)

    def train_time(self, index: int, dataset: str, epochs: int = 200) -> float | None:
        return None  # REA/AREA then run on a count budget


def _fake_score(seed: int, index: int) -> float:
    rng = random.Random(seed * 100_003 + index)
    return round(1400.0 + 150.0 * math.sin(index * 0.37) + rng.uniform(-40, 40), 3)


class FakeEvaluator:
    """Scores an index deterministically, with no torch; every 13th candidate of a repeat
    "fails" (the UI tests count failures by position)."""

    def __init__(self, config: RunConfig, truth: FakeTruth) -> None:
        self.config, self.truth = config, truth
        self.charged_s = 0.0   # FAKE_T_S per candidate scored: the fake run's clock

    def begin_repeat(self, repeat: int) -> RepeatStarted:
        return RepeatStarted(repeat, self.config.n, FAKE_BATCH, FAKE_FINGERPRINT)

    def __call__(self, repeat: int, i: int, index: int) -> ArchScored:
        arch = fake_arch(index)
        self.charged_s += FAKE_T_S
        if i % 13 == 12:
            return ArchScored(repeat, i, index, arch, None, FAKE_T_S, error="RuntimeError: fake failure")
        return ArchScored(repeat, i, index, arch, _fake_score(self.config.seed, index), FAKE_T_S,
                          params=self.truth.params(index), acc=self.truth.accuracy(index, self.config.dataset))

    def environment(self) -> dict:
        return {"app_version": "test", "device": "cpu (fake)"}

    def close(self) -> None:
        pass


def fake_parts(config: RunConfig):
    """The injection the real ``Run`` takes instead of resolving space, truth and device."""
    from naswot_tui.core.engine import RunParts

    truth = FakeTruth(config.seed)
    evaluator = FakeEvaluator(config, truth)
    # The repeats' clock is the time charged so far, not the wall clock: a repeat's
    # elapsed time (Runs and Compare show it) is then the same on every machine.
    return RunParts(space=FakeSpace(), truth=truth, evaluator=evaluator,
                    created=lambda: FAKE_CREATED, clock=lambda: evaluator.charged_s)


class FakeSource:
    """An event source for the TUI: the real ``Run`` on the fake evaluator.

    ``hold_after``: after that many candidates of the run, stop until cancelled
    or ``release`` is set, so a test can look at a half-finished run.
    ``fail_prepare``: ``prepare`` raises UsageError with this text.
    """

    def __init__(self, config: RunConfig, control: Control, *, hold_after: int | None = None,
                 fail_prepare: str | None = None) -> None:
        self.config, self.control = config, control
        self.hold_after, self.fail_prepare = hold_after, fail_prepare
        self.release = threading.Event()
        self.trace_path: Path | None = None
        self.run = None

    @classmethod
    def factory(cls, **options):
        """A source factory for Settings.source; ``factory.instances`` lists what it made."""
        def make(config, control):
            source = cls(config, control, **options)
            make.instances.append(source)
            return source

        make.instances = []
        return make

    def prepare(self) -> None:
        from naswot_tui.core.engine import Run  # no torch: the engine imports it only to score

        if self.fail_prepare:
            raise UsageError(self.fail_prepare)
        c = self.config
        folder = Path(c.out_dir or ".")
        base = f"fake-{c.space}-{c.dataset}-n{c.n}-s{c.seed}"
        path, k = folder / f"{base}.jsonl", 1
        while path.exists():
            k += 1
            path = folder / f"{base}-{k}.jsonl"
        self.run = Run(c, trace_path=path, control=self.control, parts=fake_parts(c))
        self.run.prepare()
        self.trace_path = self.run.trace_path

    def events(self):
        """The run's events, held after ``hold_after`` (>= 1) scored candidates when asked."""
        scored = 0
        for event in self.run.events():
            yield event
            if isinstance(event, RunStarted):
                c = self.config
                yield LogMessage("info", f"fake evaluator: {c.repeats} x {c.n} candidates")
            elif isinstance(event, ArchScored) and not event.replayed:
                scored += 1
                if scored == self.hold_after:
                    yield LogMessage("info", f"fake evaluator: holding after {scored} candidates")
                    # Holding here suspends the real run between two candidates, as a slow
                    # network would; batched() still delivers what came before, by time.
                    while not (self.release.is_set() or self.control.cancel.is_set()):
                        self.control.cancel.wait(0.02)
