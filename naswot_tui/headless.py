"""The headless front end: consumes a Run's events, prints data on stdout.

``text``: one line per repeat and a summary; ``json``: one document at the
end; ``jsonl``: every trace record as it is written. Records come from the
events' own encoder (``events.to_record``), the one the trace uses. Progress is a rich bar
on stderr, shown only when stderr is a terminal.

Faults: SIGTERM and SIGHUP end a run as Ctrl-C does (``cancelled`` footer,
one line, exit 130; the trace resumes). A stdout that stops taking output (a
closed pipe, ``| head -1``; a full disk, ``/dev/full``) never fails the run:
output stops, the run goes on to its footer, and the exit code is 1 (quiet
for a closed pipe, one line on stderr otherwise).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

from naswot_tui.core.engine import Run
from naswot_tui.core.errors import ExitCode, RunCancelled
from naswot_tui.core.events import ArchScored, LogMessage, RepeatFinished, RepeatStarted, RunFinished, to_record
from naswot_tui.core.trace import json_safe


def _fmt(value, spec: str = ".2f") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return format(value, spec)


def _pick(r: RepeatFinished) -> dict:
    """A pick for the ``--json`` document: the repeat_end trace record (the one
    encoder, so ``-inf`` keeps its ``score_inf``), its ``pick_`` prefix dropped."""
    rec = to_record(r)
    del rec["type"]
    return {(key[5:] if key in _PICK_FIELDS else key): value for key, value in rec.items()}


# the pick's own fields; search extras such as REA's "pick_fitness" keep their names
_PICK_FIELDS = {"pick_index", "pick_arch", "pick_score", "pick_score_inf", "pick_score_nan", "pick_acc",
                "pick_accs"}


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: handled exactly like Ctrl-C (the engine writes a ``cancelled`` footer)."""


@contextlib.contextmanager
def signals_cancel_run() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise ``Terminated`` in the main thread (once: a second
    signal while the footer is being written is ignored). Previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = False

    def handler(signum: int, frame: Any) -> None:
        nonlocal fired
        if fired:
            return
        fired = True
        raise Terminated(f"terminated by {signal.Signals(signum).name}")

    wanted = [sig for sig in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if sig]
    previous = {sig: signal.signal(sig, handler) for sig in wanted}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _Output:
    """stdout for results: a write that fails (closed pipe, full disk) stops the output,
    never the run. ``error`` keeps the first failure."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.error: OSError | None = None

    def write(self, text: str) -> None:
        if self.error is None:
            try:
                self.stream.write(text)
            except OSError as exc:
                self._failed(exc)

    def flush(self) -> None:
        if self.error is None:
            try:
                self.stream.flush()
            except OSError as exc:
                self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        self.error = exc
        # Point fd 1 at /dev/null so the interpreter's own flush at exit does not fail again.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)

    @property
    def pipe_closed(self) -> bool:
        return isinstance(self.error, BrokenPipeError) or getattr(self.error, "errno", None) == errno.EPIPE


def _say(text: str) -> None:
    """One line on stderr, even when stderr is gone."""
    with contextlib.suppress(OSError, ValueError):
        print(text, file=sys.stderr)


class _Progress:
    """A rich progress bar on stderr, or nothing when stderr is not a TTY."""

    def __init__(self, run: Run) -> None:
        self.bar = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                                TextColumn("best {task.fields[best]}"),
                                console=Console(stderr=True), transient=True)
            self.bar.start()
        self.task = None
        self.best = None

    def repeat(self, event: RepeatStarted, repeats: int) -> None:
        if self.bar is None:
            return
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.best = None
        self.task = self.bar.add_task(f"repeat {event.repeat + 1}/{repeats}", total=event.total,
                                      rate="", best="-")

    def scored(self, event: ArchScored) -> None:
        if self.bar is None or self.task is None:
            return
        if event.score is not None and (self.best is None or event.score > self.best):
            self.best = event.score
        task = self.bar.tasks[-1]
        rate = f"{task.speed:.1f} arch/s" if task.speed else ""
        self.bar.update(self.task, advance=1, rate=rate, best=_fmt(self.best))

    def log(self, text: str) -> None:
        if self.bar is not None:
            self.bar.console.print(text)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _show(event: Any, run: Run, mode: str, out: _Output, progress: _Progress,
          picks: list[RepeatFinished]) -> None:
    """One event on stdout (jsonl: its record; text: a line per repeat) and on the progress bar."""
    if mode == "jsonl":
        rec = to_record(event)
        if rec is not None:
            out.write(json.dumps(rec, allow_nan=False) + "\n")
            out.flush()
    if isinstance(event, RepeatStarted):
        progress.repeat(event, run.config.repeats)
    elif isinstance(event, ArchScored):
        progress.scored(event)
    elif isinstance(event, RepeatFinished):
        picks.append(event)
        if mode == "text":
            out.write(f"repeat {event.repeat + 1}/{run.config.repeats}: pick #{event.pick_index} "
                      f"score={_fmt(event.pick_score)} acc={_fmt(event.pick_acc)} "
                      f"time={event.elapsed_s:.1f}s  {event.pick_arch}\n")
            out.flush()
    elif isinstance(event, LogMessage):
        progress.log(event.text)


def run_headless(run: Run, mode: str = "text") -> int:
    out = _Output(sys.stdout)
    with signals_cancel_run():
        code = _run(run, mode, out)
    if out.error is not None and code == ExitCode.OK:
        if not out.pipe_closed:   # a closed pipe is the reader's choice (| head): quiet
            _say(f"error: could not write the results to stdout ({out.error.strerror or out.error}); "
                 f"the run finished and its trace is {run.trace_path}")
        return int(ExitCode.RUNTIME)
    return code


def _run(run: Run, mode: str, out: _Output) -> int:
    progress = _Progress(run)
    picks: list[RepeatFinished] = []
    end: RunFinished | None = None
    code = ExitCode.OK
    events = run.events()
    try:
        try:
            for event in events:
                _show(event, run, mode, out, progress, picks)
                if isinstance(event, RunFinished):
                    end = event
        except KeyboardInterrupt as exc:
            # The signal landed here, not inside the run: hand it to the run, which writes its
            # ``cancelled`` footer and raises RunCancelled (never leave it to be closed as failed).
            events.throw(exc)
    except RunCancelled as exc:
        code = ExitCode.INTERRUPTED
        end = RunFinished("cancelled", {})
        progress.stop()
        _say(f"error: {exc}")
    except Exception as exc:  # noqa: BLE001 - the trace footer says failed; report one line
        progress.stop()
        _say(f"error: run failed: {type(exc).__name__}: {exc} (trace: {run.trace_path})")
        return int(ExitCode.RUNTIME)
    progress.stop()
    summary = end.summary if end else {}
    if mode == "json":
        doc = {"status": end.status if end else "failed", "trace": str(run.trace_path),
               "config": run.config.to_dict(), "picks": [_pick(p) for p in picks], "summary": summary}
        out.write(json.dumps(json_safe(doc), indent=2, allow_nan=False) + "\n")
    elif mode == "text" and picks:
        accs = summary.get("accs", {})
        parts = [f"{ds} {split} {v['mean']:.2f} +- {v['std']:.2f}"
                 for ds, splits in accs.items() for split, v in splits.items()]
        if summary.get("acc_mean") is None:
            out.write(f"{run.config.dataset}: {len(picks)} repeat(s); the picks' accuracies are unknown "
                      f"(ground truth: {run.truth.source})\n")
        else:
            out.write(f"{run.config.dataset}: {len(picks)} repeat(s), pick accuracy "
                      f"{_fmt(summary.get('acc_mean'))} +- {_fmt(summary.get('acc_std'))}"
                      + (f"  ({'; '.join(parts)})" if parts else "") + "\n")
        out.write(f"trace: {run.trace_path}\n")
    out.flush()
    if end is not None and end.status == "cancelled":
        code = ExitCode.INTERRUPTED
    return int(code)

