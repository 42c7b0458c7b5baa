"""The engine: turns a RunConfig into a stream of events and a trace on disk.

``Run`` resolves the space, ground truth, device and data *before* it
creates a trace (bad input never leaves an empty trace behind), then drives
a search generator, writing every event to the trace and yielding it to the
front end. Front ends: the headless CLI iterates ``Run.events()`` in the
main thread; the TUI iterates it in a thread worker and receives events in
batches (``batched``).
"""

from __future__ import annotations

import datetime as _dt
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from naswot_tui import __version__
from naswot_tui.core.benchmarks import GroundTruth, ground_truth_for
from naswot_tui.core.config import RunConfig, default_runs_dir
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
from naswot_tui.core.search import Cancelled, Control, ResumeState, naswot_search, summarize
from naswot_tui.core.trace import SCHEMA, Trace, TraceWriter, new_trace_path, read_trace

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
            devices.append(DeviceInfo(f"cuda:{k}", f"cuda:{k} {name} ({free / 2**30:.1f} of {total / 2**30:.0f} GiB free)"))
    return devices


def resolve_device(spec: str, tf32: bool = False):
    """``auto`` -> CUDA when present, else CPU. TF32 stays off unless asked:
    it changes convolution outputs, hence binary codes, hence scores."""
    import torch

    spec = (spec or "auto").strip().lower()
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
        raise UsageError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:N")
    return torch.device("cpu")


def device_label(device) -> str:
    import torch

    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return "cpu"


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, (RuntimeError, MemoryError)) and (
        "out of memory" in text or "DefaultCPUAllocator" in text or isinstance(exc, MemoryError))


# ------------------------------------------------------------------ scoring


class ArchEvaluator:
    """Scores one architecture at a time on one device with the run's batch."""

    def __init__(self, config: RunConfig, space, truth: GroundTruth, device) -> None:
        from naswot_tui.core.scoring import get_proxy

        self.config, self.space, self.truth, self.device = config, space, truth, device
        self.proxy = get_proxy(config.proxy, config.hook_rule)
        self._batch: Batch | None = None
        self._tensor = None
        self._repeat: int | None = None

    def batch_for(self, repeat: int) -> Batch:
        c = self.config
        return make_batch(c.dataset, c.data, c.batch_size, c.seed, repeat, c.data_root, c.split_file)

    def begin_repeat(self, repeat: int) -> RepeatStarted:
        batch = self.batch_for(repeat)
        # Reuse the device copy when the batch did not change (embedded data).
        if self._batch is None or batch.fingerprint != self._batch.fingerprint:
            self._batch, self._tensor = batch, batch.to_tensor(self.device)
        self._repeat = repeat
        return RepeatStarted(repeat, self.config.n, batch.description, batch.fingerprint)

    def __call__(self, repeat: int, i: int, index: int) -> ArchScored:
        import torch

        from naswot_tui.core.scoring import count_params, init_seed

        if self._repeat != repeat:
            self.begin_repeat(repeat)
        started = time.perf_counter()
        arch = self.space.arch(index)
        score = params = None
        error = None
        try:
            torch.manual_seed(init_seed(self.config.seed, index))
            model = self.space.build(arch, num_classes=1).to(self.device)
            params = count_params(model) / 1e6
            score = float(self.proxy.fn(model, self._tensor))
            del model
        except Exception as exc:  # noqa: BLE001 - one bad architecture never stops a search
            error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            if is_out_of_memory(exc):
                error = "OOM: " + error
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
        known_params = self.truth.params(index)
        return ArchScored(
            repeat=repeat, i=i, index=index, arch=arch, score=score,
            t_s=time.perf_counter() - started,
            params=known_params if known_params is not None else params,
            acc=self.truth.accuracy(index, self.config.dataset, "test", 200),
            error=error,
        )


# ------------------------------------------------------------------ runs


class Run:
    """One search run: configuration, trace, and the event stream."""

    def __init__(self, config: RunConfig, trace_path: Path | None = None, control: Control | None = None,
                 resume_from: Trace | None = None) -> None:
        self.config = config.validate()
        self.control = control or Control()
        self.resume_from = resume_from
        self.trace_path = Path(trace_path) if trace_path else None
        self.space = self.truth = self.device = self.evaluator = None
        self.status = "pending"
        self.finished: list[RepeatFinished] = []

    @classmethod
    def resume(cls, path: str | Path, control: Control | None = None, **overrides) -> "Run":
        """Continue an incomplete (or cancelled) trace in place."""
        trace = read_trace(path)
        if trace.status == "completed":
            raise TraceError(f"trace {path} is already completed; nothing to resume")
        config = trace.config
        for key, value in overrides.items():
            if value is not None:
                setattr(config, key, value)
        return cls(config, trace_path=Path(path), control=control, resume_from=trace)

    def prepare(self) -> None:
        """Resolve everything that can fail on user input (exit codes 2/3)."""
        from naswot_tui.core.spaces import get_space

        c = self.config
        self.space = get_space(c.space, c.benchmark_file)
        self.truth = ground_truth_for(c.space, c.benchmark_file)
        self.device = resolve_device(c.device, c.tf32)
        self.evaluator = ArchEvaluator(c, self.space, self.truth, self.device)
        self.evaluator.begin_repeat(0)  # loads the data now: a bad --data-root fails before a trace exists
        if self.trace_path is None:
            folder = Path(c.out_dir).expanduser() if c.out_dir else default_runs_dir()
            self.trace_path = new_trace_path(folder, c)

    def header(self) -> dict:
        import torch

        c = self.config
        return {
            "type": "header", "schema": SCHEMA, "config": c.to_dict(),
            "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "space_size": self.space.size, "ground_truth": self.truth.source,
            "data": self.evaluator._batch.description, "data_source": c.data,
            "batch_fingerprint": self.evaluator._batch.fingerprint,
            "hook_rule": c.hook_rule, "batch_size": c.batch_size, "seed": c.seed, "proxy": c.proxy,
            "init_policy": "torch.manual_seed(SeedSequence([seed, index])) before build; default PyTorch init",
            "env": {"app_version": __version__, "torch": torch.__version__, "numpy": np.__version__,
                    "python": platform.python_version(), "device": device_label(self.device),
                    "platform": platform.platform(terse=True)},
        }

    def _search(self, resume: ResumeState) -> Iterator[Event]:
        c = self.config
        if c.search == "naswot":
            return naswot_search(c, self.space, self.evaluator, self.truth, self.control, resume)
        from naswot_tui.core import evolution  # REA / AREA (issue: evaluation)

        return evolution.search(c, self.space, self.evaluator, self.truth, self.control, resume)

    def events(self) -> Iterator[Event]:
        """Run to the end, yielding every event; the trace is written as we go.

        Cancellation (``control.cancel``) ends with a ``cancelled`` footer and a
        ``RunFinished`` event; Ctrl-C writes the same footer, then raises
        RunCancelled; any other exception writes ``failed`` and propagates.
        """
        if self.space is None:
            self.prepare()
        resume = ResumeState()
        started_repeats: set[int] = set()
        if self.resume_from is not None:
            t = self.resume_from
            resume.finished = dict(t.repeat_ends)
            resume.scored = {(s.repeat, s.i): s for s in t.scores}
            started_repeats = set(t.repeat_starts)
            writer = TraceWriter(self.trace_path, append=True)
            yield RunStarted(t.header)
            yield LogMessage("info", f"resuming {self.trace_path.name}: {len(t.scores)} scores, "
                                     f"{len(t.repeat_ends)} repeat(s) already done")
        else:
            writer = TraceWriter(self.trace_path)
            started = RunStarted(self.header())
            writer.write(started)
            yield started
        self.status = "running"
        current_repeat = -1
        try:
            for event in self._search(resume):
                repeat = getattr(event, "repeat", current_repeat)
                if repeat != current_repeat and isinstance(event, (ArchScored, RepeatFinished)):
                    current_repeat = repeat
                    if repeat not in resume.finished:
                        rs = self.evaluator.begin_repeat(repeat)
                        if repeat not in started_repeats:
                            writer.write(rs)
                        yield rs
                writer.write(event)
                if isinstance(event, RepeatFinished):
                    self.finished.append(event)
                yield event
        except Cancelled:
            self.status = "cancelled"
            end = RunFinished("cancelled", summarize(self.finished))
            writer.write(end)
            writer.close()
            yield end
            return
        except KeyboardInterrupt:
            self.status = "cancelled"
            writer.write(RunFinished("cancelled", summarize(self.finished)))
            writer.close()
            raise RunCancelled(f"interrupted; trace saved to {self.trace_path} (resume with --resume)") from None
        except BaseException as exc:
            self.status = "failed"
            writer.write(RunFinished("failed", summarize(self.finished), error=f"{type(exc).__name__}: {exc}"))
            writer.close()
            raise
        self.status = "completed"
        end = RunFinished("completed", summarize(self.finished))
        writer.write(end)
        writer.close()
        yield end


def batched(events: Iterable[Event], interval: float = 0.15) -> Iterator[list[Event]]:
    """Group events into lists, one list per ``interval`` seconds at most.

    Milestones (repeat end, run end) flush at once so the screen never lags
    on what matters. Used by the TUI worker: one message per batch, never one
    per architecture.
    """
    pending: list[Event] = []
    last = time.monotonic()
    for event in events:
        pending.append(event)
        now = time.monotonic()
        if now - last >= interval or isinstance(event, (RepeatFinished, RunFinished)):
            yield pending
            pending, last = [], now
    if pending:
        yield pending
