"""What every executor shares: the work items, the results, the worker states,
the ``Executor`` protocol and the chunking rule.

An executor scores *misses* (architectures the cache and the score pack do not
hold) for one repeat: ``run(repeat, fingerprint, items)`` takes ``(i, index)``
pairs (position in the repeat's draw, architecture index) and yields one
``WorkResult`` per pair, in the order results arrive. The evaluator
(core/engine.py) turns results into the same ``ArchScored`` events a local run
emits, so the trace, the TUI and the headless output do not know which
executor ran. Picks never depend on arrival order: the search takes the argmax
by ``i`` (core/search.py).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

#: a chunk should keep a worker busy about this long (seconds): long enough that
#: sending it costs nothing next to scoring it, short enough to balance the tail
CHUNK_TARGET_S = 1.0
#: the first chunks, before any timing is known
FIRST_CHUNK = 2
MAX_CHUNK = 256


@dataclass(frozen=True)
class WorkResult:
    """One scored architecture as a worker returns it (``arch`` None: the parent fills it in)."""

    i: int
    index: int
    arch: str | None
    score: float | None
    params: float | None
    error: str | None
    t_s: float
    worker: int = -1


@dataclass
class WorkerState:
    """What the Live screen shows per worker."""

    worker: int
    device: str
    pid: int | None = None
    state: str = "starting"     # starting | idle | busy | dead
    scored: int = 0
    busy_s: float = 0.0
    started: float = field(default_factory=time.monotonic)

    @property
    def archs_per_s(self) -> float:
        return self.scored / self.busy_s if self.busy_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"worker": self.worker, "device": self.device, "pid": self.pid, "state": self.state,
                "scored": self.scored, "archs_per_s": round(self.archs_per_s, 3)}


class Executor(Protocol):
    """Scores chunks of architectures somewhere else (processes, a Ray cluster)."""

    name: str

    def start(self) -> None:
        """Start the workers (they load torch and the minibatch while the run gets ready)."""

    def run(self, repeat: int, fingerprint: str, items: list[tuple[int, int]]) -> Iterator[WorkResult]:
        """Score every ``(i, index)`` of ``repeat``; yield results as they arrive."""

    def states(self) -> list[WorkerState]:
        """One state per worker, for front ends."""

    def close(self) -> None:
        """Stop every worker (idempotent; also after Ctrl-C)."""


class WorkerRefused(RuntimeError):
    """A worker's minibatch does not match the run's batch hash: it refuses to score."""


class ChunkSizer:
    """Chunk sizes from the measured seconds per architecture (see CHUNK_TARGET_S)."""

    def __init__(self) -> None:
        self.total_s = 0.0
        self.count = 0

    def observe(self, t_s: float) -> None:
        self.total_s += max(t_s, 0.0)
        self.count += 1

    def size(self, pending: int, workers: int) -> int:
        if self.count == 0 or self.total_s <= 0:
            wanted = FIRST_CHUNK
        else:
            wanted = math.ceil(CHUNK_TARGET_S / (self.total_s / self.count))
        # never more than a fair share of what is left: the last chunks end together
        fair = math.ceil(pending / max(workers, 1))
        return max(1, min(wanted, fair, MAX_CHUNK))


def death_error(how: str) -> str:
    return f"worker died twice on this architecture ({how}); not scored"


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
