"""``--executor procs``: N worker processes on this machine (CPU, or one per GPU).

Each worker is a ``spawn``-ed process with one torch thread (by default) and its
own copy of the minibatch (``ChunkScorer``); it talks to the run over one pipe.
The run sends chunks of ``(i, index)``; the worker answers one message per
architecture (so results stream back as they are scored) and ``done`` per chunk.

Faults: a worker that dies (SIGKILL, the OOM killer) is noticed through its
process sentinel; what its chunk had not returned yet is retried once on
another worker, one architecture per chunk, and an architecture whose retry
kills a worker again is recorded as failed. A dead worker is replaced. Workers
ignore SIGINT: Ctrl-C reaches the run, whose ``close`` stops them all.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from naswot_tui.core.executors.base import (
    ChunkSizer,
    WorkerRefused,
    WorkerState,
    WorkResult,
    death_error,
    default_workers,
)

_POLL_S = 0.5


@contextlib.contextmanager
def _real_stderr() -> Iterator[None]:
    """The process's own stderr while starting a process: multiprocessing hands
    ``sys.stderr.fileno()`` to its resource tracker, and a front end that
    captures stderr (the TUI) has none (-1: "bad value(s) in fds_to_keep")."""
    saved = sys.stderr
    try:
        ok = saved is not None and saved.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        ok = False
    if not ok and sys.__stderr__ is not None:
        sys.stderr = sys.__stderr__
    try:
        yield
    finally:
        sys.stderr = saved


def _worker_main(conn: Connection, config: dict[str, Any], device: str, threads: int,
                 kernel_helper: bool = False) -> None:
    """A worker process: hold a ChunkScorer, score the chunks it is sent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent decides when we stop
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    try:
        from naswot_tui.core.executors.worker import ChunkScorer
        from naswot_tui.core.scoring import allow_kernel_helper

        allow_kernel_helper(kernel_helper)

        scorer = ChunkScorer(config, device, threads)
        conn.send(("ready", os.getpid(), scorer.label()))
    except Exception as exc:  # noqa: BLE001 - reported to the run, which fails with it
        conn.send(("failed", None, f"worker could not start: {type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] == "stop":
            return
        _, chunk_id, repeat, fingerprint, items = msg
        refusal = scorer.prepare(repeat, fingerprint)
        if refusal is not None:
            conn.send(("refused", chunk_id, refusal))
            continue
        for i, index in items:
            conn.send(("result", chunk_id, (i, index, *scorer.score(index))))
        conn.send(("done", chunk_id, None))


@dataclass
class _Chunk:
    id: int
    items: list[tuple[int, int]]
    retry: bool = False                                   # a second attempt: a death now fails it
    returned: set[int] = field(default_factory=set)       # the i's already answered

    def left(self) -> list[tuple[int, int]]:
        return [(i, index) for i, index in self.items if i not in self.returned]


@dataclass
class _Worker:
    state: WorkerState
    process: Any
    conn: Connection
    chunk: _Chunk | None = None
    ready: bool = False


class ProcsExecutor:
    """Worker processes fed with chunks; results in arrival order (see module docstring)."""

    name = "procs"

    def __init__(self, config: dict[str, Any], workers: int, devices: list[str], threads: int = 1) -> None:
        self.config = dict(config)
        self.n_workers = max(1, int(workers))
        self.devices = devices or ["cpu"]
        self.threads = threads
        self._ctx = mp.get_context("spawn")
        self._workers: list[_Worker] = []
        self._next_id = 0
        self._spawns_left = 2 * self.n_workers + 2     # replacements before we give up
        self._sizer = ChunkSizer()
        self._chunk_ids = 0
        self._closed = False

    # ------------------------------------------------------------ workers
    def _spawn(self) -> None:
        wid = self._next_id
        self._next_id += 1
        device = self.devices[wid % len(self.devices)]
        parent, child = self._ctx.Pipe()
        # the K helper thread only where the pool leaves cores idle (scoring.allow_kernel_helper)
        helper = self.n_workers * self.threads < default_workers()
        process = self._ctx.Process(target=_worker_main, args=(child, self.config, device, self.threads, helper),
                                    name=f"naswot-worker-{wid}", daemon=True)
        with _real_stderr():
            process.start()
        child.close()
        self._workers.append(_Worker(WorkerState(wid, device, pid=process.pid), process, parent))

    def start(self) -> None:
        while len(self._workers) < self.n_workers:
            self._spawn()

    def states(self) -> list[WorkerState]:
        return [w.state for w in self._workers]

    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.is_alive()]

    # ------------------------------------------------------------ the run
    def run(self, repeat: int, fingerprint: str, items: list[tuple[int, int]]) -> Iterator[WorkResult]:
        if not items:
            return
        self.start()
        pending: deque[tuple[int, int]] = deque(items)
        retries: deque[_Chunk] = deque()
        left = len(items)
        while left > 0:
            self._dispatch(repeat, fingerprint, pending, retries)
            for result in self._collect(retries):
                left -= 1
                yield result

    def _dispatch(self, repeat: int, fingerprint: str, pending: deque[tuple[int, int]],
                  retries: deque[_Chunk]) -> None:
        for w in self._workers:
            if not w.ready or w.chunk is not None:
                continue
            if retries:
                chunk = retries.popleft()
            elif pending:
                size = self._sizer.size(len(pending), self.n_workers)
                self._chunk_ids += 1
                chunk = _Chunk(self._chunk_ids, [pending.popleft() for _ in range(size)])
            else:
                return
            w.chunk = chunk
            w.state.state = "busy"
            w.conn.send(("chunk", chunk.id, repeat, fingerprint, chunk.items))

    def _collect(self, retries: deque[_Chunk]) -> Iterator[WorkResult]:
        """Wait for messages or deaths; yield the results that came in."""
        by_conn = {id(w.conn): w for w in self._workers}
        by_sentinel = {w.process.sentinel: w for w in self._workers}
        ready = wait([*(w.conn for w in self._workers), *by_sentinel], timeout=_POLL_S)
        dead: list[_Worker] = []
        for obj in ready:
            if isinstance(obj, int):
                dead.append(by_sentinel[obj])
                continue
            w = by_conn[id(obj)]
            try:
                yield from self._drain(w)
            except (EOFError, OSError):
                dead.append(w)
        buried: list[_Worker] = []
        for w in dead:
            if not any(w is b for b in buried):   # a death shows on the pipe and the sentinel
                buried.append(w)
                yield from self._bury(w, retries)

    def _drain(self, w: _Worker) -> Iterator[WorkResult]:
        """The results a worker has sent so far (EOFError/OSError when its pipe is gone)."""
        while w.conn.poll():
            out = self._handle(w, w.conn.recv())
            if out is not None:
                yield out

    def _handle(self, w: _Worker, msg: tuple[Any, ...]) -> WorkResult | None:
        kind, chunk_id, payload = msg
        if kind == "ready":
            w.ready, w.state.pid, w.state.device, w.state.state = True, chunk_id, payload, "idle"
            return None
        if kind == "failed":
            raise RuntimeError(payload)
        if kind == "refused":
            raise WorkerRefused(payload)
        if kind == "done":
            w.chunk = None
            w.state.state = "idle"
            return None
        i, index, arch, score, params, error, t_s = payload
        if w.chunk is not None:
            w.chunk.returned.add(i)
        w.state.scored += 1
        w.state.busy_s += t_s
        self._sizer.observe(t_s)
        return WorkResult(i, index, arch, score, params, error, t_s, w.state.worker)

    def _bury(self, w: _Worker, retries: deque[_Chunk]) -> Iterator[WorkResult]:
        """A worker died: retry or fail what its chunk had left; replace it."""
        if w not in self._workers:
            return
        with contextlib.suppress(EOFError, OSError):
            yield from self._drain(w)   # what it sent before dying
        w.process.join(timeout=1)
        how = f"exit code {w.process.exitcode}"
        w.state.state = "dead"
        self._workers.remove(w)
        w.conn.close()
        chunk, w.chunk = w.chunk, None
        if chunk is not None:
            for i, index in chunk.left():
                if chunk.retry:
                    yield WorkResult(i, index, None, None, None, death_error(how), 0.0, w.state.worker)
                else:
                    self._chunk_ids += 1
                    retries.append(_Chunk(self._chunk_ids, [(i, index)], retry=True))
        if self._closed:
            return
        if self._spawns_left <= 0:
            raise RuntimeError(f"worker processes keep dying ({how}); giving up")
        self._spawns_left -= 1
        self._spawn()

    # ------------------------------------------------------------ stop
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for w in self._workers:
            with contextlib.suppress(OSError, ValueError):   # already gone
                w.conn.send(("stop", None, None))
        deadline = time.monotonic() + 3.0
        for w in self._workers:
            w.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.kill()
                w.process.join(timeout=1)
            w.conn.close()
            w.state.state = "dead"
