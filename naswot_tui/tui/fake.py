"""A deterministic stand-in for the engine (no torch): for UI tests, snapshots
and demos. It emits the same event types and writes a real trace with the
core TraceWriter, so cancel/resume/runs/compare work on its output.
"""

from __future__ import annotations

import math
import random
import threading
import time
from pathlib import Path

from naswot_tui.core.config import RunConfig
from naswot_tui.core.errors import UsageError
from naswot_tui.core.events import ArchScored, LogMessage, RepeatFinished, RepeatStarted, RunFinished, RunStarted
from naswot_tui.core.search import Cancelled, Control, summarize
from naswot_tui.core.trace import SCHEMA, TraceWriter

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
SPACE_SIZE = 5 ** 6


def fake_arch(index: int) -> str:
    """NB201-format string for ``index`` (base-5 digits as ops)."""
    ops = [OPS[(index // 5 ** k) % 5] for k in range(6)]
    return f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|"


class FakeSource:
    """Scores are a fixed function of (seed, repeat, i); every 13th candidate fails.

    ``hold_after``: stop after that many candidates of the run until cancelled or
    ``release`` is set, so a test can look at a half-finished run.
    """

    def __init__(self, config: RunConfig, control: Control, *, hold_after: int | None = None,
                 fail_prepare: str | None = None) -> None:
        self.config, self.control = config, control
        self.hold_after, self.fail_prepare = hold_after, fail_prepare
        self.release = threading.Event()
        self.trace_path: Path | None = None

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
        if self.fail_prepare:
            raise UsageError(self.fail_prepare)
        c = self.config
        folder = Path(c.out_dir or ".")
        base = f"fake-{c.space}-{c.dataset}-n{c.n}-s{c.seed}"
        path, k = folder / f"{base}.jsonl", 1
        while path.exists():
            k += 1
            path = folder / f"{base}-{k}.jsonl"
        self.trace_path = path

    def header(self) -> dict:
        c = self.config
        return {"type": "header", "schema": SCHEMA, "config": c.to_dict(), "created": "2026-01-02T03:04:05+00:00",
                "space_size": SPACE_SIZE, "ground_truth": "fake", "data": "fake batch", "data_source": c.data,
                "batch_fingerprint": "0" * 16, "hook_rule": c.hook_rule, "batch_size": c.batch_size,
                "seed": c.seed, "proxy": c.proxy, "env": {"app_version": "test", "device": "cpu (fake)"}}

    def _score(self, repeat: int, i: int) -> ArchScored:
        rng = random.Random(self.config.seed * 100_003 + repeat * 1009 + i)
        index = rng.randrange(SPACE_SIZE)
        if i % 13 == 12:
            return ArchScored(repeat, i, index, fake_arch(index), None, 0.05, error="RuntimeError: fake failure")
        score = 1400.0 + 150.0 * math.sin(index * 0.37) + rng.uniform(-40, 40)
        acc = round(min(94.0, max(10.0, 80.0 + (score - 1400.0) / 15.0 + rng.uniform(-2, 2))), 2)
        return ArchScored(repeat, i, index, fake_arch(index), round(score, 3), 0.05,
                          params=round(0.1 + (index % 97) / 70.0, 3), acc=acc)

    def events(self):
        c = self.config
        writer = TraceWriter(self.trace_path)
        picks: list[RepeatFinished] = []
        emitted = 0

        def out(event):
            writer.write(event)
            return event

        yield out(RunStarted(self.header()))
        yield LogMessage("info", f"fake source: {c.repeats} x {c.n} candidates")
        try:
            for repeat in range(c.repeats):
                yield out(RepeatStarted(repeat, c.n, "fake batch", "0" * 16))
                best: ArchScored | None = None
                n_err = 0
                for i in range(c.n):
                    if self.hold_after is not None and emitted == self.hold_after:
                        # batched() flushes when the next event arrives: make that happen before holding.
                        time.sleep(0.2)
                        yield LogMessage("info", f"fake source: holding after {emitted} candidates")
                    if self.hold_after is not None and emitted >= self.hold_after:
                        while not (self.release.is_set() or self.control.cancel.is_set()):
                            self.control.cancel.wait(0.02)
                    self.control.checkpoint()
                    rec = self._score(repeat, i)
                    emitted += 1
                    n_err += rec.error is not None
                    if rec.score is not None and (best is None or rec.score > best.score):
                        best = rec
                    yield out(rec)
                pick = RepeatFinished(repeat, best.index, best.arch, best.score, best.acc,
                                      {c.dataset: {"test": best.acc}}, elapsed_s=0.05 * c.n, n_scored=c.n,
                                      n_errors=n_err)
                picks.append(pick)
                yield out(pick)
        except Cancelled:
            end = RunFinished("cancelled", summarize(picks))
        else:
            end = RunFinished("completed", summarize(picks))
        writer.write(end)
        writer.close()
        yield end
