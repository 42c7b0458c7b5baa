"""The engine: turns a RunConfig into a stream of events and a trace on disk.

``Run`` resolves the space, ground truth, device and data *before* it
creates a trace (bad input never leaves an empty trace behind), then drives
a search generator: every event goes to each sink (the trace first), then
to the front end. Front ends: the headless CLI iterates ``Run.events()`` in the
main thread; the TUI iterates it in a thread worker and receives events in
batches (``batched``).
"""

from __future__ import annotations

import datetime as _dt
import math
import platform
import queue
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from naswot_tui import __version__
from naswot_tui.core.allocator import keep_freed_memory
from naswot_tui.core.benchmarks import GroundTruth, ground_truth_for
from naswot_tui.core.config import RunConfig, default_runs_dir, options
from naswot_tui.core.data import Batch, make_batch
from naswot_tui.core.errors import RunCancelled, TraceError, UsageError
from naswot_tui.core.events import (
    ArchScored,
    Event,
    LogMessage,
    RepeatFinished,
    RepeatStarted,
    RunFinished,
    RunStarted,
)
from naswot_tui.core.executors.base import WorkerState
from naswot_tui.core.executors.worker import ScoreTuple, score_architecture
from naswot_tui.core.search import Cancelled, Control, ResumeState, naswot_search, summarize
from naswot_tui.core.trace import SCHEMA, Trace, TraceLock, TraceSink, new_trace_path, read_trace

if TYPE_CHECKING:
    from naswot_tui.core.cache import CachedScore, CacheKey, ScoreCache

# ------------------------------------------------------------------ devices


@dataclass(frozen=True)
class DeviceInfo:
    name: str          # "cpu", "cuda:0", ...
    label: str         # human label with GPU name and free memory


def available_devices() -> list[DeviceInfo]:
    """CPU and each CUDA GPU actually present (imports torch)."""
    import torch

    devices = [DeviceInfo("cpu", f"CPU ({torch.get_num_threads()} threads)")]
    if torch.cuda.is_available():
        for k in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(k)
            name = torch.cuda.get_device_name(k)
            free_text = f"{free / 2**30:.1f} of {total / 2**30:.0f} GiB free"
            devices.append(DeviceInfo(f"cuda:{k}", f"cuda:{k} {name} ({free_text})"))
    return devices


def resolve_device(spec: str, tf32: bool = False) -> Any:
    """``auto`` -> CUDA when present, else CPU. TF32 stays off unless asked:
    it changes convolution outputs, hence binary codes, hence scores."""
    import torch

    spec = (spec or "auto").strip().lower()
    if spec == "all":  # every GPU; ArchEvaluator gives each its workers. First GPU (or CPU) leads.
        spec = "cuda:0" if torch.cuda.is_available() else "cpu"
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {spec}: no CUDA GPU is available here; use --device cpu or auto")
        device = torch.device(spec)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"--device {spec}: only {torch.cuda.device_count()} GPU(s) present")
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        return device
    if spec != "cpu":
        raise UsageError(f"unknown device {spec!r}; use auto, cpu, cuda, cuda:N or all")
    return torch.device("cpu")


def device_label(device: Any) -> str:
    import torch

    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return "cpu"


# ------------------------------------------------------------------ scoring


#: a cache or pack hit, resolved once: (arch, score, params, acc, the record's extra fields)
_Known = tuple[str, "float | None", "float | None", "float | None", dict[str, bool]]


class _CacheWriter:
    """New scores on their way to the cache file, written in small batches."""

    def __init__(self) -> None:
        self.cache: ScoreCache | None = None
        self.pending: list[tuple[CacheKey, tuple[Any, ...]]] = []
        self.last = time.monotonic()
        self.failed: BaseException | None = None

    def add(self, key: CacheKey, row: tuple[Any, ...]) -> None:
        self.pending.append((key, row))
        if len(self.pending) >= 256 or time.monotonic() - self.last > 0.5:
            self.flush()

    def flush(self) -> None:
        self.last = time.monotonic()
        if not self.pending or self.cache is None:
            self.pending = []
            return
        rows, self.pending = self.pending, []
        by_key: dict[CacheKey, list[tuple[Any, ...]]] = {}
        for key, row in rows:
            by_key.setdefault(key, []).append(row)
        try:
            for key, group in by_key.items():
                self.cache.put_many(key, group)
        except Exception as exc:  # noqa: BLE001 - losing cache rows never fails a run
            self.failed = exc


class ArchEvaluator:
    """Scores architectures with the run's batch: cache first, then the device(s).

    * Cache (``config.cache``, default on): one SQLite query loads every cached
      score of the run's context (space, data, batch size, hook rule, proxy,
      init seed policy + run seed, dtype, device kind, version; see
      core/cache.py); a hit costs a dict lookup and is marked
      ``extra["cached"] = True``. New scores are written in small batches.
    * Work in flight (CUDA): for NASWOT-N the repeat's draw is known in
      advance (``search.sample_indices``), so a few architectures are scored
      ahead, each on its own CUDA stream, so a small network does not leave
      the GPU idle; ``--device all`` gives every GPU its workers. Networks
      are *built* one at a time under a lock (the global torch RNG seeds the
      default init), then moved and scored concurrently. CPU: one at a time.
    * ``config.amp`` (``bf16``/``fp16``, never the default) runs the forward
      pass under autocast; its scores are cached under their own dtype.
    * Any exception (CUDA OOM included) is recorded on the architecture and
      the run goes on.
    """

    #: data sources whose batch is the same in every repeat (no re-read per repeat)
    _REPEAT_INVARIANT_DATA = ("embedded",)
    #: the extra fields of a record served from the cache / from a shipped score pack
    _CACHED = {"cached": True}
    _PACKED = {"cached": True, "pack": True}
    #: cached contexts up to this size are loaded whole, in one query
    _PRELOAD_LIMIT = 250_000

    def __init__(self, config: RunConfig, space: Any, truth: GroundTruth, device: Any) -> None:
        from naswot_tui.core.scoring import get_proxy

        self.config, self.space, self.truth, self.device = config, space, truth, device
        self.proxy = get_proxy(config.proxy, config.hook_rule)
        if getattr(device, "type", None) == "cpu":
            keep_freed_memory()   # CPU forward passes reuse freed activation memory (core/allocator.py)
        self.amp = getattr(config, "amp", None) or None
        self._batch: Batch | None = None
        self._tensor: Any = None
        self._repeat: int | None = None
        self._repeat_event: RepeatStarted | None = None
        self._arch_names: dict[int, str] = {}
        # cache state
        self.cache: ScoreCache | None = None
        self._key: CacheKey | None = None
        self._hits: dict[int, CachedScore] = {}
        self._ready: dict[int, _Known] = {}   # index -> (arch, score, params, acc, extra) of a cache or pack hit
        self._pack: dict[int, float] = {}   # shipped scores of this context (core/score_pack.py)
        self._writer = _CacheWriter()
        # --proxies (the proxy lab): every per-network proxy scored in one pass per architecture.
        # Networks get the dataset's class count only when a label-based proxy needs a classifier
        # (NASWOT's score does not depend on the head: tests/test_proxy_lab.py). Per-proxy values
        # are not cached: the cache holds one score per context, so such runs bypass it.
        self.lab: list[str] = []
        self.lab_classes = 1
        self._lab_values: dict[int, dict[str, float | None]] = {}
        if config.proxies:
            from naswot_tui.core.proxies import get_spec, split_proxy_names

            self.lab = split_proxy_names(config.proxy_list())[0]
            if any(get_spec(name).needs_labels for name in self.lab):
                self.lab_classes = space.num_classes(config.dataset)
        if getattr(config, "cache", True) and not self.lab:
            try:
                from naswot_tui.core.cache import ScoreCache

                self.cache = self._writer.cache = ScoreCache()
            except Exception as exc:  # noqa: BLE001 - an unusable cache never stops a run
                self._cache_failed(exc)
        # Pending scores reach the file even if nobody calls close() (exit, GC).
        weakref.finalize(self, self._writer.flush)
        # work in flight (CUDA only)
        self._slots: Any = None    # queue of (device, stream, batch) slots
        self._pool: Any = None     # ThreadPoolExecutor of the slots
        self._ahead: dict[int, tuple[int, Any]] = {}   # i -> (index, future)
        self._draw: list[int] = []
        self._build_lock = threading.Lock()
        # --executor procs | ray: workers elsewhere (core/executors); None = score here
        from naswot_tui.core.executors import make_executor

        self.executor = make_executor(config, device)
        if self.executor is not None:
            self.executor.start()

    # ------------------------------------------------------------ batches
    def batch_for(self, repeat: int) -> Batch:
        c = self.config
        return make_batch(c.dataset, c.data, c.batch_size, c.seed, repeat, c.data_root, c.split_file)

    def begin_repeat(self, repeat: int) -> RepeatStarted:
        if self._repeat == repeat and self._repeat_event is not None:
            return self._repeat_event
        if self._batch is not None and self.config.data in self._REPEAT_INVARIANT_DATA:
            batch = self._batch
        else:
            batch = self.batch_for(repeat)
        # Reuse the device copy when the batch did not change (embedded data).
        if self._batch is None or batch.fingerprint != self._batch.fingerprint:
            self._drop_ahead()
            self._batch, self._tensor = batch, batch.to_tensor(self.device)
            self._slots = None
            self._open_context()
        self._flush()
        self._repeat = repeat
        self._repeat_event = RepeatStarted(repeat, self.config.n, batch.description, batch.fingerprint)
        self._plan_ahead(repeat)
        return self._repeat_event

    # ------------------------------------------------------------ cache
    def cache_key(self) -> CacheKey:
        from naswot_tui import __version__
        from naswot_tui.core.cache import INIT_POLICY, CacheKey, device_kind

        assert self._batch is not None
        c = self.config
        tf32 = c.tf32 and self.device.type == "cuda"
        dtype = f"amp-{self.amp}" if self.amp else ("fp32+tf32" if tf32 else "fp32")
        return CacheKey(space=c.space, data_fingerprint=self._batch.fingerprint, batch_size=c.batch_size,
                        hook_rule=c.hook_rule, proxy=self.proxy.name, init_policy=f"{INIT_POLICY}:seed={c.seed}",
                        dtype=dtype, device_kind=device_kind(self.device), version=__version__)

    def _open_context(self) -> None:
        self._flush()
        self._hits, self._ready, self._pack = {}, {}, {}
        if self.cache is None:
            return
        try:
            self._key = self.cache_key()
            if self.cache.count(self._key) <= self._PRELOAD_LIMIT:
                self._hits = self.cache.load(self._key)
        except Exception as exc:  # noqa: BLE001
            self._cache_failed(exc)
        if self._key is not None:
            from naswot_tui.core.score_pack import pack_for

            self._pack = pack_for(self._key) or {}

    def _lookup(self, index: int) -> CachedScore | None:
        hit = self._hits.get(index)
        if hit is None and self.cache is not None and self._key is not None and len(self._hits) >= self._PRELOAD_LIMIT:
            try:
                hit = self.cache.get(self._key, index)
            except Exception as exc:  # noqa: BLE001
                self._cache_failed(exc)
        return hit

    def _remember(self, index: int, arch: str, score: float, params: float | None, t_s: float) -> None:
        if self.cache is None or self._key is None:
            return
        from naswot_tui.core.cache import CachedScore

        self._hits[index] = CachedScore(index, arch, score, params, t_s)
        self._writer.add(self._key, (index, arch, score, params, t_s))

    def _flush(self) -> None:
        self._writer.flush()
        if self._writer.failed is not None:
            self._cache_failed(self._writer.failed)
            self._writer.failed = None

    def _cache_failed(self, exc: BaseException) -> None:
        import warnings

        warnings.warn(f"score cache disabled for this run: {type(exc).__name__}: {exc}", stacklevel=2)
        self.cache = self._writer.cache = None

    def environment(self) -> dict[str, str]:
        """The trace header's ``env``: versions and the device that scores (and its numeric kind)."""
        import torch

        from naswot_tui.core.cache import device_kind

        return {"app_version": __version__, "torch": torch.__version__, "numpy": np.__version__,
                "python": platform.python_version(), "device": device_label(self.device),
                "device_kind": device_kind(self.device), "platform": platform.platform(terse=True)}

    def close(self) -> None:
        """Write pending scores and stop helper threads (also runs at exit)."""
        self._drop_ahead()
        self._flush()
        if self.executor is not None:
            self.executor.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # ------------------------------------------------------------ scoring
    def __call__(self, repeat: int, i: int, index: int) -> ArchScored:
        if self._repeat != repeat:
            self.begin_repeat(repeat)
        started = time.perf_counter()
        # Cache hits: 500 x 1000 of them must take seconds, so the record's
        # fields are resolved once per architecture and reused.
        ready = self._known(index)
        if ready is not None:
            return ArchScored(repeat, i, index, ready[0], ready[1], time.perf_counter() - started, ready[2],
                              ready[3], None, False, dict(ready[4]))
        ahead = self._ahead.pop(i, None)
        if ahead is not None and ahead[0] == index:
            arch, score, params, error, t_s = ahead[1].result()
        else:
            arch, score, params, error, t_s = self._score(index, self._tensor, self.device, None)
        self._plan_ahead(repeat, consumed=i)
        if error is None and score is not None:
            self._remember(index, arch, score, params, t_s)
        known = self.truth.params(index)
        return ArchScored(
            repeat=repeat, i=i, index=index, arch=arch, score=score,
            t_s=t_s if ahead is not None else time.perf_counter() - started,
            params=known if known is not None else params,
            acc=self.truth.accuracy(index, self.config.dataset, "test", 200),
            error=error, proxies=self._lab_values.get(index) if self.lab else None,
        )

    def _known(self, index: int) -> _Known | None:
        """(arch, score, params, acc, extra) of a cached (or packed) architecture, else None."""
        ready = self._ready.get(index)
        if ready is None:
            hit = self._hits.get(index) if self._hits else None
            if hit is None and self.cache is not None:
                hit = self._lookup(index)
            acc = self.truth.accuracy(index, self.config.dataset, "test", 200)
            known = self.truth.params(index)
            if hit is not None:
                ready = self._ready[index] = (hit.arch, hit.score, known if known is not None else hit.params,
                                              acc, self._CACHED)
            elif self._pack:
                packed = self._pack.get(index)
                if packed is not None and not math.isnan(packed):
                    ready = self._ready[index] = (self._arch(index), packed, known, acc, self._PACKED)
        return ready

    # ------------------------------------------------------------ executors
    def score_many(self, repeat: int, items: list[tuple[int, int]]) -> Iterator[ArchScored]:
        """Score ``(i, index)`` pairs of ``repeat``; records in the order they are ready.

        Local: one by one, as ``__call__`` (lazily, so the search can pause or
        cancel between architectures). Other executors: cache hits at once, the
        misses go to the workers in chunks and come back in arrival order.
        """
        if self.executor is None:
            for i, index in items:
                yield self(repeat, i, index)
            return
        if self._repeat != repeat:
            self.begin_repeat(repeat)
        assert self._batch is not None   # begin_repeat holds it
        misses = []
        for i, index in items:
            ready = self._known(index)
            if ready is None:
                misses.append((i, index))
            else:
                yield ArchScored(repeat, i, index, ready[0], ready[1], 0.0, ready[2], ready[3], None, False,
                                 dict(ready[4]))
        for res in self.executor.run(repeat, self._batch.fingerprint, misses):
            arch = res.arch if res.arch is not None else self._arch(res.index)
            if res.error is None and res.score is not None:
                self._remember(res.index, arch, res.score, res.params, res.t_s)
            known = self.truth.params(res.index)
            yield ArchScored(repeat=repeat, i=res.i, index=res.index, arch=arch, score=res.score, t_s=res.t_s,
                             params=known if known is not None else res.params,
                             acc=self.truth.accuracy(res.index, self.config.dataset, "test", 200), error=res.error)

    def worker_states(self) -> list[WorkerState]:
        """Per-worker state (core.executors.WorkerState) for front ends; empty for local runs."""
        return self.executor.states() if self.executor is not None else []

    def _arch(self, index: int) -> str:
        arch = self._arch_names.get(index)
        if arch is None:
            arch = self._arch_names[index] = self.space.arch(index)
        return arch

    def _score(self, index: int, batch: Any, device: Any, stream: Any) -> ScoreTuple:
        """(arch, score, params, error, seconds) of one architecture; never raises."""
        # --proxies (local executor only): every proxy of one network in one pass, on a network
        # with the dataset's class count when a label-based proxy is asked for.
        measure = (lambda model: self._score_lab(model, index, device)) if self.lab else None
        return score_architecture(self.space, self.proxy, self.config.seed, self.amp, self._arch(index), index,
                                  batch, device, stream, self._build_lock,
                                  num_classes=self.lab_classes, measure=measure)

    def _score_lab(self, model: Any, index: int, device: Any) -> float:
        """Every --proxies value of one network in one pass; returns the picking proxy's."""
        from naswot_tui.core.proxies import score_proxies
        from naswot_tui.core.scoring import init_seed

        assert self._batch is not None
        values = score_proxies(model, self._batch, self.lab, seed=init_seed(self.config.seed, index), device=device)
        self._lab_values[index] = dict(values)
        return values[self.config.picking_proxy()]

    # ------------------------------------------------------------ in flight
    def _inflight_per_device(self) -> int:
        import os

        if self.device.type != "cuda" and os.environ.get("NASWOT_TUI_INFLIGHT") is None:
            return 0
        return max(0, int(os.environ.get("NASWOT_TUI_INFLIGHT", "4")))

    def _ensure_slots(self) -> bool:
        """(device, stream, batch) slots for the helper threads; False when none."""
        import queue as _queue
        from concurrent.futures import ThreadPoolExecutor

        import torch

        per_device = self._inflight_per_device()
        if per_device == 0 or self.config.search != "naswot" or self.executor is not None:
            return False
        if self._slots is None:
            batch = self._batch
            assert batch is not None   # begin_repeat loaded it
            devices = [self.device]
            if getattr(self.config, "device", "") == "all" and self.device.type == "cuda":
                devices = [torch.device(f"cuda:{k}") for k in range(torch.cuda.device_count())]
            self._slots = _queue.Queue()
            for dev in devices:
                tensor = self._tensor if dev == self.device else batch.to_tensor(dev)
                for _ in range(per_device):
                    stream = torch.cuda.Stream(device=dev) if dev.type == "cuda" else None  # type: ignore[no-untyped-call]
                    self._slots.put((dev, stream, tensor))
                if dev.type == "cuda":
                    torch.cuda.synchronize(dev)  # batch copies done before other streams read them
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._pool = ThreadPoolExecutor(max_workers=self._slots.qsize(), thread_name_prefix="naswot-score")
        return True

    def _run_in_slot(self, index: int) -> ScoreTuple:
        dev, stream, tensor = self._slots.get()
        try:
            return self._score(index, tensor, dev, stream)
        finally:
            self._slots.put((dev, stream, tensor))

    def _plan_ahead(self, repeat: int, consumed: int | None = None) -> None:
        if not self._ensure_slots():
            return
        if consumed is None:
            from naswot_tui.core.search import sample_indices

            self._drop_ahead()
            c = self.config
            self._draw = sample_indices(self.space, c.n, c.seed, repeat, c.unique)
            start = 0
        else:
            start = consumed + 1
        window = 2 * self._slots.qsize()
        for j in range(start, min(start + window, len(self._draw))):
            if j in self._ahead:
                continue
            index = self._draw[j]
            if index in self._hits:
                continue
            self._ahead[j] = (index, self._pool.submit(self._run_in_slot, index))

    def _drop_ahead(self) -> None:
        for _, future in self._ahead.values():
            future.cancel()
        self._ahead.clear()


# ------------------------------------------------------------------ runs


@dataclass
class RunParts:
    """What a run scores with, for callers that bring their own instead of
    resolving the config's (the TUI's torch-free fake in tests and demos).

    ``evaluator`` is called as ``evaluator(repeat, i, index) -> ArchScored`` and
    has ``begin_repeat(repeat) -> RepeatStarted``, ``environment() -> dict`` and
    ``close()``; ``created`` gives the header's timestamp (ISO 8601) and
    ``clock`` times the repeats (seconds; the wall clock when not given).
    """

    space: object
    truth: GroundTruth
    evaluator: object
    created: Callable[[], str] | None = None
    clock: Callable[[], float] | None = None


def _now_iso() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


class Run:
    """One search run: configuration, trace, and the event stream."""

    def __init__(self, config: RunConfig, trace_path: Path | None = None, control: Control | None = None,
                 resume_from: Trace | None = None, sinks: Iterable[Any] = (), parts: RunParts | None = None) -> None:
        self.config = config.validate()
        self.parts = parts
        self._created = (parts.created if parts and parts.created else None) or _now_iso
        self.control = control or Control()
        self.resume_from = resume_from
        self.trace_path = Path(trace_path) if trace_path else None
        # Set by prepare(). Duck-typed: a caller's RunParts may bring stand-ins (the TUI's fake).
        self.space: Any = None          # SearchSpace
        self.truth: Any = None          # GroundTruth
        self.device: Any = None         # torch.device (None with RunParts)
        self.evaluator: Any = None      # ArchEvaluator or RunParts.evaluator
        self._first_batch: RepeatStarted | None = None
        self.status = "pending"
        self.finished: list[RepeatFinished] = []
        #: extra sinks after the trace: objects with on_event(event) and close(end: RunFinished)
        self.sinks: list[Any] = list(sinks)
        self._lock: TraceLock | None = None   # held from Run.resume (or the trace's creation) to the footer

    #: settings a resume may change: how scores are looked up or loaded, never what is scored
    RESUME_MAY_CHANGE = ("cache", "device", "trust_benchmark_file", "executor", "workers", "ray_address")

    @classmethod
    def resume(cls, path: str | Path, control: Control | None = None, parts: RunParts | None = None,
               **given: Any) -> Run:
        """Continue an incomplete (or cancelled) trace in place.

        Locks the trace first (a second writer is refused, naming the first)
        and reads it under the lock. ``given`` are settings the caller was
        handed (``None`` = not given): those in ``RESUME_MAY_CHANGE`` apply,
        any other must equal the trace's own value, else UsageError (a resume
        continues the run the trace describes, never another one).
        """
        if not Path(path).is_file():
            read_trace(path)   # the reader's one-line error (missing, a directory); no lock file left behind
        lock = TraceLock.acquire(path)
        try:
            trace = read_trace(path)
            if trace.status == "completed":
                raise TraceError(f"trace {path} is already completed; nothing to resume")
            config = _resumed_config(trace, given)
            run = cls(config, trace_path=Path(path), control=control, resume_from=trace, parts=parts)
        except BaseException:
            lock.release()
            raise
        run._lock = lock
        return run

    def prepare(self) -> None:
        """Resolve everything that can fail on user input (exit codes 2/3); a resume is
        checked against its trace here, before anything is appended."""
        try:
            self._prepare()
            if self.resume_from is not None:
                self._check_resumable(self.resume_from)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Give up the trace's lock (a run that never starts; the footer releases it otherwise)."""
        if self._lock is not None:
            self._lock.release()

    def _prepare(self) -> None:
        from naswot_tui.core.spaces import get_space

        c = self.config
        parts = self.parts
        self.space = parts.space if parts else get_space(c.space, c.benchmark_file,
                                                         trust_benchmark_file=c.trust_benchmark_file)
        if c.dataset not in self.space.datasets:
            if c.dataset == "cifar10" and len(self.space.datasets) == 1:
                c.dataset = self.space.datasets[0]  # e.g. NDS ImageNet sweeps: the default follows the space
            else:
                raise UsageError(f"space {c.space} has no dataset {c.dataset!r}; "
                                 f"use --dataset {' or '.join(self.space.datasets)}")
        if c.unique and c.search == "naswot" and self.space.dense and c.n > self.space.size:
            raise UsageError(f"--unique --n {c.n}: space {c.space} has only {self.space.size} architectures; "
                             f"use --n {self.space.size} (or --n all) or drop --unique")
        if parts:
            self.truth, self.evaluator = parts.truth, parts.evaluator
        else:
            self.truth = ground_truth_for(c.space, c.benchmark_file, c.nb101_aggregate,
                                          trust_benchmark_file=c.trust_benchmark_file)
            self.device = resolve_device(c.device, c.tf32)
            if c.amp and self.device.type == "cpu":
                warnings.warn(f"--amp {c.amp} on the CPU changes scores and is usually much slower than fp32; "
                              "leave --amp out on CPU", stacklevel=2)
            self.evaluator = ArchEvaluator(c, self.space, self.truth, self.device)
        self._first_batch = self.evaluator.begin_repeat(0)  # loads the data now: a bad --data-root fails
        #                                                     before a trace exists
        if self.trace_path is None:
            folder = Path(c.out_dir).expanduser() if c.out_dir else default_runs_dir()
            self.trace_path = new_trace_path(folder, c)

    def _check_resumable(self, trace: Trace) -> None:
        """The trace describes this run: same header, same data, same draws (else TraceError, exit 2)."""
        c, header, where = self.config, trace.header, f"cannot resume {trace.path}"
        for key, value in (("seed", c.seed), ("batch_size", c.batch_size), ("hook_rule", c.hook_rule),
                           ("proxy", c.proxy), ("data_source", c.data)):
            if key in header and header[key] != value:
                raise TraceError(f"{where}: its header says {key} {header[key]!r} but its config says {value!r}; "
                                 "the header was edited (start a new run)")
        recorded = {r: rec.get("batch_fingerprint") for r, rec in trace.repeat_starts.items()}
        recorded.setdefault(0, header.get("batch_fingerprint"))
        if header.get("batch_fingerprint") not in (None, recorded[0]):
            raise TraceError(f"{where}: repeat 1 started on batch {recorded[0]} but the header names "
                             f"batch {header['batch_fingerprint']}; the trace was edited (start a new run)")
        todo = sorted(r for r in recorded if r not in trace.repeat_ends)
        for r in sorted({0, *todo}):
            now = self._first_batch if r == 0 else self.evaluator.begin_repeat(r)
            if recorded[r] and now is not None and now.batch_fingerprint != recorded[r]:
                raise TraceError(f"{where}: the data changed since it was written: repeat {r + 1}'s batch is "
                                 f"now {now.batch_fingerprint} ({now.batch}), the trace was scored on {recorded[r]}; "
                                 "restore the data the run used, or start a new run")
        if c.search == "naswot":
            self._check_draws(trace, sorted({0, *todo}))

    def _check_draws(self, trace: Trace, repeats: list[int]) -> None:
        """Recorded candidates are the ones this config draws (an edited seed or N shows here)."""
        from naswot_tui.core.search import sample_indices

        c = self.config
        for r in repeats:
            scored = trace.scores_of(r)
            if not scored:
                continue
            draw = sample_indices(self.space, c.n, c.seed, r, c.unique)
            for s in scored:
                if s.i >= len(draw) or draw[s.i] != s.index:
                    expected = draw[s.i] if s.i < len(draw) else "nothing"
                    raise TraceError(f"cannot resume {trace.path}: repeat {r + 1} step {s.i} is architecture "
                                     f"{s.index}, but seed {c.seed} with N={c.n} draws {expected} there; the "
                                     "header's config was edited (start a new run)")

    def header(self) -> dict[str, Any]:
        c = self.config
        if self._first_batch is None:
            raise RuntimeError("Run.header() before prepare()")   # a programming error, not user input
        return {
            "type": "header", "schema": SCHEMA, "config": c.to_dict(), "created": self._created(),
            "space_size": self.space.size, "ground_truth": self.truth.source,
            "data": self._first_batch.batch, "data_source": c.data,
            "batch_fingerprint": self._first_batch.batch_fingerprint,
            "hook_rule": c.hook_rule, "batch_size": c.batch_size, "seed": c.seed, "proxy": c.proxy,
            **({"proxies": c.proxy_list()} if c.proxies else {}),
            "init_policy": "torch.manual_seed(SeedSequence([seed, index])) before build; default PyTorch init",
            "env": self.evaluator.environment(),
        }

    def _search(self, resume: ResumeState) -> Iterator[Event]:
        c = self.config
        clock = (self.parts.clock if self.parts else None) or time.perf_counter
        if c.search == "naswot":
            return naswot_search(c, self.space, self.evaluator, self.truth, self.control, resume, clock)
        from naswot_tui.core import evolution  # REA / AREA (issue: evaluation)

        return evolution.search(c, self.space, self.evaluator, self.truth, self.control, resume, clock)

    def _stream(self, resume: ResumeState) -> Iterator[Event]:
        """The run's events, first to last but the footer: header, search."""
        if self.resume_from is not None:
            t = self.resume_from
            resume.finished = dict(t.repeat_ends)
            resume.scored = {(s.repeat, s.i): s for s in t.scores}
            yield RunStarted(t.header)
            yield LogMessage("info", f"resuming {t.path.name}: {len(t.scores)} scores, "
                                     f"{len(t.repeat_ends)} repeat(s) already done")
        else:
            yield RunStarted(self.header())
        yield from self._search(resume)

    def events(self) -> Iterator[Event]:
        """Run to the end: each event goes to every sink (the trace), then to the caller.

        Cancellation (``control.cancel``) ends with a ``cancelled`` footer and a
        ``RunFinished`` event; Ctrl-C writes the same footer, then raises
        RunCancelled; any other exception writes ``failed`` and propagates.
        The footer is written once, in the ``finally``.
        """
        if self.space is None:
            self.prepare()
        if self.trace_path is None:
            raise RuntimeError("prepare() names the trace")   # unreachable once prepared
        try:
            sinks = [TraceSink(self.trace_path, resume_from=self.resume_from, lock=self._lock), *self.sinks]
        except BaseException:
            self.release()
            raise
        status, error = "failed", None
        self.status = "running"
        try:
            for event in self._stream(ResumeState()):
                for sink in sinks:
                    sink.on_event(event)
                if isinstance(event, RepeatFinished):
                    self.finished.append(event)
                yield event
            status = "completed"
        except Cancelled:
            status = "cancelled"
        except KeyboardInterrupt as exc:  # Ctrl-C; the headless front end turns SIGTERM/SIGHUP into one too
            status = "cancelled"
            reason = str(exc) or "interrupted"
            raise RunCancelled(f"{reason}; trace saved to {self.trace_path} (resume with --resume)") from None
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.status = status
            end = RunFinished(status, summarize(self.finished), error=error)
            try:
                self.evaluator.close()  # pending cache rows, helper threads
            finally:
                try:
                    for sink in sinks:
                        sink.close(end)
                finally:
                    self.release()   # the trace sink released it already; this covers a sink that failed
        yield end


def _resumed_config(trace: Trace, given: dict[str, Any]) -> RunConfig:
    """The trace's config, checked, with the settings a resume may change applied.

    A given setting that differs from the trace's (after canonicalising, so
    ``--space nats-tss`` equals ``nb201``) is a UsageError naming both values.
    """
    try:
        config = trace.config.validate()
    except UsageError as exc:
        raise TraceError(f"cannot resume {trace.path}: its header config is invalid ({exc})") from None
    by_name = {opt.name: opt for opt in options()}
    for name, value in given.items():
        if value is None or name not in by_name:
            continue
        if name in Run.RESUME_MAY_CHANGE:
            setattr(config, name, by_name[name].check_value(value))
            continue
        opt = by_name[name]
        wanted = opt.check_value(value)
        if name == "data_root" and wanted is not None and config.data_root is not None:
            same = Path(wanted).expanduser().resolve() == Path(config.data_root).expanduser().resolve()
        else:
            same = wanted == getattr(config, name)
        if not same:
            raise UsageError(f"--resume {trace.path}: {opt.flag} {wanted} contradicts the trace's "
                             f"{getattr(config, name)!r}; a resume continues the run as recorded: "
                             f"drop {opt.flag} (or start a new run)")
    return config


def batched(events: Iterable[Event], interval: float = 0.15) -> Iterator[list[Event]]:
    """Group events into lists, one list per ``interval`` seconds at most.

    The events are produced in a helper thread and collected here with a
    timeout, so a batch goes out on time even when the run stalls (paused, or
    one slow network): the screen never lags behind what was scored.
    Milestones (repeat end, run end) flush at once. Used by the TUI worker:
    one message per batch, never one per architecture. An exception in the
    producer is re-raised here after the events before it.
    """
    items: queue.Queue[Any] = queue.Queue()
    done = object()

    def produce() -> None:
        try:
            for event in events:
                items.put(event)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            items.put(_Failure(exc))
        finally:
            items.put(done)

    threading.Thread(target=produce, name="naswot-events", daemon=True).start()
    pending: list[Event] = []
    deadline = time.monotonic() + interval
    while True:
        try:
            item = items.get(timeout=max(deadline - time.monotonic(), 0.005))
        except queue.Empty:
            if pending:
                yield pending
                pending = []
            deadline = time.monotonic() + interval
            continue
        if item is done:
            break
        if isinstance(item, _Failure):
            if pending:
                yield pending
            raise item.exc
        pending.append(item)
        if time.monotonic() >= deadline or isinstance(item, (RepeatFinished, RunFinished)):
            yield pending
            pending = []
            deadline = time.monotonic() + interval
    if pending:
        yield pending


@dataclass
class _Failure:
    exc: BaseException
