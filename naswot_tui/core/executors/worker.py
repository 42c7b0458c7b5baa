"""Scoring one architecture, the same way in the main process and in every worker.

``score_architecture`` is the one scoring routine (the local evaluator calls it
too), so an executor cannot change a score: same space, same batch, same init
seed per (run seed, index), same proxy. ``ChunkScorer`` is what a worker
process or a Ray actor holds: the run's configuration, its own copy of the
minibatch, and the check of that minibatch against the batch hash of the
trace header (a worker refuses to score on a mismatch).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from naswot_tui.core.allocator import keep_freed_memory
from naswot_tui.core.config import RunConfig

#: test hook: a worker that is asked to score this index kills itself with SIGKILL
#: (how the fault tests make a worker die mid-chunk, for real)
DIE_ON_INDEX_ENV = "NASWOT_TUI_WORKER_DIE_ON_INDEX"

ScoreTuple = tuple[str, "float | None", "float | None", "str | None", float]   # arch, score, params, error, t_s


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, (RuntimeError, MemoryError)) and (
        "out of memory" in text or "DefaultCPUAllocator" in text or isinstance(exc, MemoryError))


def score_architecture(space: Any, proxy: Any, run_seed: int, amp: str | None, arch: str, index: int,
                       batch: Any, device: Any, stream: Any = None,
                       build_lock: Any = None, num_classes: int = 1,
                       measure: Callable[[Any], float] | None = None) -> ScoreTuple:
    """(arch, score, params in millions, error, seconds) of one architecture; never raises.

    The network is built right after ``torch.manual_seed(init_seed(run_seed, index))``
    (under ``build_lock`` where several threads build), so its weights depend only
    on (run seed, index). ``measure(model)`` replaces the proxy's own score (the
    engine's ``--proxies`` pass, on a network with ``num_classes`` outputs).
    """
    import torch

    from naswot_tui.core.scoring import count_params, init_seed, score_from_costs

    started = time.perf_counter()
    score = params = None
    error = None
    if proxy.known_cost is not None and measure is None:
        # params / FLOPs the space can compute: no network, no forward pass.
        known = score_from_costs(proxy, space, arch, tuple(batch.shape[1:]))
        if known is not None:
            return arch, known[0], known[1] / 1e6, None, time.perf_counter() - started
    try:
        with build_lock if build_lock is not None else contextlib.nullcontext():
            torch.manual_seed(init_seed(run_seed, index))
            model = space.build(arch, num_classes=num_classes)
        with torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext():
            model = model.to(device)
            params = count_params(model) / 1e6
            precision: Any = contextlib.nullcontext()
            if amp:
                dtype = torch.bfloat16 if amp == "bf16" else torch.float16
                precision = torch.autocast(device_type=device.type, dtype=dtype)
            with precision:
                score = float(measure(model)) if measure is not None else float(proxy.fn(model, batch))
        del model
    except Exception as exc:  # noqa: BLE001 - one bad architecture never stops a search
        error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        if is_out_of_memory(exc):
            error = "OOM: " + error
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return arch, score, params, error, time.perf_counter() - started


class ChunkScorer:
    """A worker's scoring state: config, space, proxy, device and its own minibatch."""

    def __init__(self, config: dict[str, Any], device: str, threads: int | None = 1) -> None:
        import torch

        from naswot_tui.core.scoring import get_proxy
        from naswot_tui.core.spaces import get_space

        if threads:
            torch.set_num_threads(threads)
        self.config = RunConfig.from_dict(config)
        c = self.config
        self.device = torch.device(device)
        if self.device.type == "cpu":
            keep_freed_memory()   # reuse freed activation memory (core/allocator.py)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
            torch.backends.cuda.matmul.allow_tf32 = c.tf32
            torch.backends.cudnn.allow_tf32 = c.tf32
        self.space = get_space(c.space, c.benchmark_file, trust_benchmark_file=c.trust_benchmark_file)
        self.proxy = get_proxy(c.proxy, c.hook_rule)
        self._fingerprint = ""
        self._tensor: Any = None
        self._lock = threading.Lock()
        self._die_on = int(os.environ.get(DIE_ON_INDEX_ENV, "-1"))

    def label(self) -> str:
        import torch

        if self.device.type == "cuda":
            return f"{self.device} ({torch.cuda.get_device_name(self.device)})"
        return "cpu"

    def prepare(self, repeat: int, fingerprint: str) -> str | None:
        """Hold the minibatch of ``repeat``; an error text when it is not the run's batch."""
        from naswot_tui.core.data import make_batch

        if self._fingerprint != fingerprint:
            c = self.config
            # the evaluator reads embedded data once, for repeat 0 (the same images in every repeat)
            source = 0 if c.data == "embedded" else repeat
            batch = make_batch(c.dataset, c.data, c.batch_size, c.seed, source, c.data_root, c.split_file)
            if batch.fingerprint != fingerprint:
                return (f"worker refuses to score: its minibatch for repeat {repeat} has hash {batch.fingerprint}, "
                        f"the trace header says {fingerprint} (different data files on this worker?)")
            self._fingerprint = fingerprint
            self._tensor = batch.to_tensor(self.device)
        return None

    def score(self, index: int) -> ScoreTuple:
        if index == self._die_on:
            import signal

            os.kill(os.getpid(), signal.SIGKILL)
        arch = self.space.arch(index)
        return score_architecture(self.space, self.proxy, self.config.seed, self.config.amp, arch, index,
                                  self._tensor, self.device, None, self._lock)
