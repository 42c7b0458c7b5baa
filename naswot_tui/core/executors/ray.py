"""``--executor ray``: Ray actors as workers (``pip install "naswot-tui[ray]"``).

``--ray-address auto|HOST:PORT`` joins an existing cluster; without it we start
a local Ray (``ray.init(num_cpus=N)``) and shut it down in ``close``. When Ray is
already initialised in this process (a test session's cluster), we use it and
leave it running. Each actor holds a ``ChunkScorer`` (its own minibatch, checked
against the trace header's batch hash) and scores one chunk per call. An actor
that dies has its chunk retried once on another actor, one architecture per
chunk; a second death records the architecture as failed.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Iterator
from typing import Any

from naswot_tui.core.errors import UsageError
from naswot_tui.core.executors.base import ChunkSizer, WorkerRefused, WorkerState, WorkResult, death_error

INSTALL_HINT = 'pip install "naswot-tui[ray]"'


def import_ray() -> Any:
    """The ray module, or a one-line usage error naming the extra (exit 2)."""
    try:
        import ray
    except ImportError:
        raise UsageError(f"--executor ray needs Ray, which is not installed; {INSTALL_HINT}") from None
    return ray


class _Actor:
    """The body of a Ray actor (made remote at run time: Ray is optional)."""

    def __init__(self, config: dict[str, Any], device: str, threads: int) -> None:
        from naswot_tui.core.executors.worker import ChunkScorer
        from naswot_tui.core.scoring import allow_kernel_helper

        allow_kernel_helper(False)   # Ray places one actor per CPU: the helper's core is another actor's
        self.scorer = ChunkScorer(config, device, threads)

    def info(self) -> tuple[int, str]:
        return os.getpid(), self.scorer.label()

    def score(self, repeat: int, fingerprint: str, items: list[tuple[int, int]]) -> list[tuple[Any, ...]]:
        refusal = self.scorer.prepare(repeat, fingerprint)
        if refusal is not None:
            return [("refused", refusal)]
        return [(i, index, *self.scorer.score(index)) for i, index in items]


class RayExecutor:
    """Chunks to Ray actors; results per chunk in arrival order."""

    name = "ray"

    def __init__(self, config: dict[str, Any], workers: int | None, address: str | None, gpus: bool,
                 threads: int = 1) -> None:
        self.ray = ray = import_ray()
        self.config, self.threads, self.gpus = dict(config), threads, gpus
        self._owns = False
        if not ray.is_initialized():
            if address:
                try:
                    ray.init(address=address, log_to_driver=False, include_dashboard=False)
                except Exception as exc:  # noqa: BLE001 - Ray raises several kinds; one line for the user
                    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    raise UsageError(f"--ray-address {address}: cannot join the Ray cluster ({first}); "
                                     "check the address, or leave it out to start a local Ray") from None
            else:
                ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False,
                         object_store_memory=200 * 2**20)
                self._owns = True
        resources = ray.cluster_resources()
        if workers is None:
            workers = int(resources.get("GPU", 0)) if gpus and resources.get("GPU") else int(resources.get("CPU", 1))
        self.n_workers = max(1, int(workers))
        options: dict[str, Any] = {"num_cpus": 1, "max_restarts": 0}
        if gpus:
            options["num_gpus"] = 1
        self._remote = ray.remote(**options)(_Actor)
        self._actors: list[tuple[Any, WorkerState]] = []
        self._next_id = 0
        self._spawns_left = 2 * self.n_workers + 2
        self._sizer = ChunkSizer()
        self._closed = False

    def _spawn(self) -> None:
        device = "cuda" if self.gpus else "cpu"   # Ray sets CUDA_VISIBLE_DEVICES per actor
        actor = self._remote.remote(self.config, device, self.threads)
        self._actors.append((actor, WorkerState(self._next_id, device, state="idle")))
        self._next_id += 1

    def start(self) -> None:
        while len(self._actors) < self.n_workers:
            self._spawn()
        for actor, state in self._actors:
            if state.pid is None:
                state.pid, state.device = self.ray.get(actor.info.remote())

    def states(self) -> list[WorkerState]:
        return [state for _, state in self._actors]

    def run(self, repeat: int, fingerprint: str, items: list[tuple[int, int]]) -> Iterator[WorkResult]:
        if not items:
            return
        self.start()
        ray = self.ray
        pending: deque[tuple[int, int]] = deque(items)
        retries: deque[list[tuple[int, int]]] = deque()
        in_flight: dict[Any, tuple[Any, WorkerState, list[tuple[int, int]], bool]] = {}
        while pending or retries or in_flight:
            busy = {id(a) for a, *_ in in_flight.values()}
            for actor, state in self._actors:
                if id(actor) in busy or not (pending or retries):
                    continue
                retry = bool(retries)
                if retries:
                    chunk = retries.popleft()
                else:
                    size = self._sizer.size(len(pending), self.n_workers)
                    chunk = [pending.popleft() for _ in range(size)]
                state.state = "busy"
                in_flight[actor.score.remote(repeat, fingerprint, chunk)] = (actor, state, chunk, retry)
            done, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in done:
                actor, state, chunk, retry = in_flight.pop(ref)
                try:
                    rows = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    yield from self._bury(actor, state, chunk, retry, retries, exc)
                    continue
                state.state = "idle"
                if rows and rows[0][0] == "refused":
                    raise WorkerRefused(rows[0][1])
                for i, index, arch, score, params, error, t_s in rows:
                    state.scored += 1
                    state.busy_s += t_s
                    self._sizer.observe(t_s)
                    yield WorkResult(i, index, arch, score, params, error, t_s, state.worker)

    def _bury(self, actor: Any, state: WorkerState, chunk: list[tuple[int, int]], retry: bool,
              retries: deque[list[tuple[int, int]]], exc: BaseException) -> Iterator[WorkResult]:
        state.state = "dead"
        self._actors = [(a, s) for a, s in self._actors if a is not actor]
        how = type(exc).__name__
        for i, index in chunk:
            if retry:
                yield WorkResult(i, index, None, None, None, death_error(how), 0.0, state.worker)
            else:
                retries.append([(i, index)])
        if self._spawns_left <= 0:
            raise RuntimeError(f"Ray workers keep dying ({how}); giving up")
        self._spawns_left -= 1
        self._spawn()
        self.start()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for actor, state in self._actors:
            with contextlib.suppress(Exception):   # already gone
                self.ray.kill(actor)
            state.state = "dead"
        if self._owns:
            self.ray.shutdown()
