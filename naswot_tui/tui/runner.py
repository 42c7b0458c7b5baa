"""Runs, resumes and replays in a thread worker; results reach the app as
batched messages (one per ~150 ms from ``core.engine.batched``), never one
per architecture.

An event source has ``prepare()`` (raises NaswotError on bad input),
``events()`` and ``trace_path``. The real one wraps ``core.engine.Run``
(imported inside the worker, so torch loads only when a run starts); tests
pass ``FakeSource`` from ``naswot_tui.tui.fake``: the same ``Run`` on a fake
evaluator.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message
from textual.worker import Worker, WorkerState

from naswot_tui.core.config import RunConfig
from naswot_tui.core.errors import NaswotError
from naswot_tui.core.events import RepeatStarted, RunFinished, RunStarted
from naswot_tui.core.search import Control

if TYPE_CHECKING:
    from textual.app import App

BATCH_INTERVAL = 0.15
REPLAY_CHUNK = 2000


class EngineSource:
    """A new run on the real engine."""

    def __init__(self, config: RunConfig, control: Control) -> None:
        self.config, self.control = config, control
        self.run = None
        self.trace_path: Path | None = None

    def prepare(self) -> None:
        from naswot_tui.core.engine import Run  # imports torch: worker thread only

        self.run = Run(self.config, control=self.control)
        self.run.prepare()
        self.trace_path = self.run.trace_path

    def events(self):
        return self.run.events()


class ResumeSource(EngineSource):
    """Continue an incomplete or cancelled trace in place."""

    def __init__(self, path: Path, control: Control) -> None:
        super().__init__(RunConfig(), control)
        self.path = Path(path)

    def prepare(self) -> None:
        from naswot_tui.core.engine import Run

        self.run = Run.resume(self.path, control=self.control)
        self.run.prepare()
        self.trace_path = self.run.trace_path


def replay_events(trace) -> list:
    """A saved trace as the event stream that produced it (for the live layout)."""
    events: list = [RunStarted(trace.header)]
    current = None
    for s in trace.scores:
        if s.repeat != current:
            if current is not None and current in trace.repeat_ends:
                events.append(trace.repeat_ends[current])
            current = s.repeat
            events.append(RepeatStarted.from_record(trace.repeat_starts.get(current, {"repeat": current})))
        events.append(s)
    for r in sorted(trace.repeat_ends):
        if r == current or r not in {s.repeat for s in trace.scores}:
            events.append(trace.repeat_ends[r])
    events.append(RunFinished.from_record(trace.end or {"type": "end", "status": trace.status}))
    return events


class StartFailed(Exception):
    """The source could not start (bad input): the worker ends in ERROR with this, nothing was scored."""


class Runner:
    """Owns the one scoring worker and its Control (pause/cancel).

    The worker's own state says whether a run is live and how it ended: its
    function returns the footer status (completed / cancelled / incomplete),
    raises ``StartFailed`` when the input is bad and any other exception when
    scoring broke. The app reads that from ``Worker.StateChanged``.
    """

    GROUP = "scoring"

    class Prepared(Message):
        """The source resolved its input; the trace file is known."""

        def __init__(self, trace_path: str | None, mode: str) -> None:
            super().__init__()
            self.trace_path, self.mode = trace_path, mode

    class Batch(Message):
        """Events that arrived within one batching interval."""

        def __init__(self, events: list) -> None:
            super().__init__()
            self.events = events

    def __init__(self, app: App, source_factory: Callable | None = None) -> None:
        self.app = app
        self.source_factory = source_factory or EngineSource
        self.control = Control()
        self.mode: str | None = None
        self.worker: Worker | None = None
        self.source = None   # the running source (its evaluator's workers: widgets/workers.py)

    @property
    def active(self) -> bool:
        """A run, resume or replay is pending or running (from the worker's state, not a flag)."""
        return self.worker is not None and self.worker.state in (WorkerState.PENDING, WorkerState.RUNNING)

    # ------------------------------------------------------------ starting
    def start(self, config: RunConfig) -> None:
        self._launch("run", lambda control: self.source_factory(config, control))

    def resume(self, path: Path) -> None:
        self._launch("resume", lambda control: ResumeSource(path, control))

    def replay(self, path: Path) -> None:
        self.mode = "replay"
        self.worker = self.app.run_worker(lambda: self._replay(Path(path)), name="replay", group=self.GROUP,
                                          thread=True, exclusive=True, exit_on_error=False)

    def _launch(self, mode: str, make: Callable) -> None:
        self.control = Control()
        self.mode = mode
        control = self.control
        self.worker = self.app.run_worker(lambda: self._run(make, control, mode), name=mode, group=self.GROUP,
                                          thread=True, exclusive=True, exit_on_error=False)

    # ------------------------------------------------------------ control
    def cancel(self) -> None:
        self.control.pause.clear()
        self.control.cancel.set()

    def toggle_pause(self) -> bool:
        if self.control.pause.is_set():
            self.control.pause.clear()
        else:
            self.control.pause.set()
        return self.control.pause.is_set()

    @property
    def paused(self) -> bool:
        return self.control.pause.is_set()

    # ------------------------------------------------------------ in the thread
    def _post(self, message: Message) -> None:
        self.app.post_message(message)

    def _stream(self, events) -> str:
        """Post ``events`` in batches of ~150 ms; returns the footer's status."""
        from naswot_tui.core.engine import batched

        status = "incomplete"
        for batch in batched(events, BATCH_INTERVAL):
            self._post(self.Batch(batch))
            status = next((e.status for e in reversed(batch) if isinstance(e, RunFinished)), status)
        return status

    def _run(self, make: Callable, control: Control, mode: str) -> str:
        try:
            source = self.source = make(control)
            source.prepare()
        except NaswotError as exc:
            raise StartFailed(str(exc)) from exc
        self._post(self.Prepared(str(source.trace_path) if source.trace_path else None, mode))
        return self._stream(source.events())

    def _replay(self, path: Path) -> str:
        from naswot_tui.core.trace import read_trace

        try:
            trace = read_trace(path)
        except NaswotError as exc:
            raise StartFailed(str(exc)) from exc
        self._post(self.Prepared(str(path), "replay"))
        events = replay_events(trace)
        # Large chunks: a 15,625-row trace arrives in 8 messages, each folded in a few ms.
        for k in range(0, len(events), REPLAY_CHUNK):
            self._post(self.Batch(events[k:k + REPLAY_CHUNK]))
        return trace.status


__all__ = ["Runner", "StartFailed", "EngineSource", "ResumeSource", "replay_events"]
