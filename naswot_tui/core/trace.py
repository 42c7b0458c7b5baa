"""Traces: one run = one append-only JSON Lines file (schema ``naswot-trace/1``).

Records, one per line, header first::

    {"type": "header", "schema": "naswot-trace/1", "config": {...}, "env": {...}, ...}
    {"type": "repeat_start", "repeat": r, "total": n, "batch": "...", "batch_fingerprint": "..."}
    {"type": "score", "repeat": r, "i": k, "arch": "...", "index": n, "score": x, ...}
    {"type": "repeat_end", "repeat": r, "pick_index": ..., "pick_acc": ..., ...}
    {"type": "end", "status": "completed" | "cancelled" | "failed", ...}

Scores that JSON cannot hold: ``-inf`` is ``"score": null, "score_inf": -1``
and NaN is ``"score": null, "score_nan": true`` (see events.encode_score).
Records are encoded by the events themselves (``events.to_record``) and
written by ``TraceSink``, one of a run's sinks. Lines are written whole and
flushed by time; repeat ends and the footer are fsynced. A reader drops a torn last line (a crash mid-write), fails with
the line number on a corrupt middle line, and calls a file without ``end``
``incomplete`` (resumable).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from naswot_tui.core.config import RunConfig
from naswot_tui.core.errors import TraceError
from naswot_tui.core.events import (
    ArchScored,
    Event,
    RepeatFinished,
    RepeatStarted,
    RunFinished,
    RunStarted,
    to_record,
)

SCHEMA = "naswot-trace/1"


def _dumps(record: dict) -> str:
    return json.dumps(record, allow_nan=False, separators=(",", ":"))


class TraceWriter:
    """The file: appends whole records; ``flush`` after a batch, ``sync`` at milestones.

    It knows nothing about events; ``TraceSink`` decides what goes in and when.
    """

    def __init__(self, path: Path, append: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if append:
            _truncate_torn_tail(self.path)
        self._file = open(self.path, "a" if append else "x", encoding="utf-8")
        self._last_flush = time.monotonic()

    def write_record(self, record: dict) -> None:
        self._file.write(_dumps(record) + "\n")

    def write(self, event: Event) -> None:
        """Append the event's record (events without one, like LogMessage, are skipped)."""
        record = to_record(event)
        if record is not None:
            self.write_record(record)

    def flush_if_due(self, interval: float = 0.25) -> None:
        # Flush by time so a crash loses at most a fraction of a second of work.
        if time.monotonic() - self._last_flush > interval:
            self.flush()

    def flush(self) -> None:
        self._file.flush()
        self._last_flush = time.monotonic()

    def sync(self) -> None:
        self.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()


class TraceSink:
    """A run's trace as a consumer of its events (``on_event``), closed once with
    the footer (``close``).

    New runs: the header is written and fsynced first. Resumed runs append to
    the same file: the header and the repeat starts it already holds are not
    written again, and replayed scores / repeat ends (``replayed=True``) are
    skipped, so a resumed trace has no duplicates. Scores are flushed by time,
    repeat ends and the footer fsynced.
    """

    def __init__(self, path: Path, resume_from: Trace | None = None) -> None:
        self.path = Path(path)
        self.writer = TraceWriter(self.path, append=resume_from is not None)
        self._resuming = resume_from is not None
        self._started: set[int] = set(resume_from.repeat_starts) if resume_from is not None else set()
        self.end: RunFinished | None = None

    def on_event(self, event: Event) -> None:
        if self.end is not None:
            raise TraceError(f"trace {self.path} is closed; no event can follow its footer")
        if isinstance(event, RunStarted):
            if not self._resuming:
                self.writer.write(event)
                self.writer.sync()
        elif isinstance(event, RepeatStarted):
            if event.repeat not in self._started:
                self._started.add(event.repeat)
                self.writer.write(event)
        elif isinstance(event, ArchScored):
            if not event.replayed:
                self.writer.write(event)
                self.writer.flush_if_due()
        elif isinstance(event, RepeatFinished):
            if not event.replayed:
                self.writer.write(event)
                self.writer.sync()
        elif isinstance(event, RunFinished):
            self.close(event)
        # LogMessage: not part of the trace

    def close(self, end: RunFinished) -> None:
        """Write the footer (completed / cancelled / failed) and close the file.
        Only the first call writes; later ones do nothing."""
        if self.end is not None:
            return
        self.end = end
        try:
            self.writer.write(end)
        finally:
            self.writer.close()


def _truncate_torn_tail(path: Path) -> None:
    """Cut a partial last line (no newline) before appending to a trace."""
    with open(path, "rb+") as f:
        data = f.read()
        if data and not data.endswith(b"\n"):
            f.truncate(data.rfind(b"\n") + 1)


@dataclass
class Trace:
    path: Path
    header: dict
    repeat_starts: dict[int, dict] = field(default_factory=dict)
    scores: list[ArchScored] = field(default_factory=list)
    repeat_ends: dict[int, RepeatFinished] = field(default_factory=dict)
    end: dict | None = None
    torn_tail: bool = False          # a partial last line was dropped
    extra_records: list[dict] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.end["status"] if self.end else "incomplete"

    @property
    def config(self) -> RunConfig:
        return RunConfig.from_dict(self.header.get("config", {}))

    def scores_of(self, repeat: int) -> list[ArchScored]:
        return [s for s in self.scores if s.repeat == repeat]


def read_trace(path: str | Path) -> Trace:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TraceError(f"trace {path} does not exist; list saved runs with 'naswot-tui runs'") from None
    except OSError as exc:
        raise TraceError(f"cannot read trace {path}: {exc}") from None
    lines = raw.split(b"\n")
    torn = False
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        torn = True  # no trailing newline: the writer died mid-line
    trace: Trace | None = None
    for number, line in enumerate(lines, start=1):
        last = number == len(lines)
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict) or "type" not in rec:
                raise ValueError("not a trace record")
        except (ValueError, UnicodeDecodeError) as exc:
            if last and torn:
                break
            raise TraceError(f"trace {path}: line {number} is corrupt ({exc}); "
                             "the lines before it are intact") from None
        if last and torn:
            # A complete JSON object without its newline: keep it, it is whole.
            torn = False
        kind = rec["type"]
        if trace is None:
            if kind != "header" or not str(rec.get("schema", "")).startswith("naswot-trace/"):
                raise TraceError(f"{path} is not a naswot-tui trace (line 1 is not a header)")
            trace = Trace(path=path, header=rec)
            continue
        if kind == "score":
            trace.scores.append(ArchScored.from_record(rec))
        elif kind == "repeat_start":
            trace.repeat_starts[rec["repeat"]] = rec
        elif kind == "repeat_end":
            trace.repeat_ends[rec["repeat"]] = RepeatFinished.from_record(rec)
        elif kind == "end":
            trace.end = rec
        else:
            trace.extra_records.append(rec)
    if trace is None:
        raise TraceError(f"trace {path} is empty")
    trace.torn_tail = torn
    return trace


def list_traces(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)


def new_trace_path(folder: Path, config: RunConfig) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    size = f"n{config.n}" if config.search == "naswot" else "evolve"  # REA/AREA run on a budget, not N
    base = f"{stamp}-{config.space}-{config.dataset}-{config.search}-{size}-s{config.seed}"
    path = folder / f"{base}.jsonl"
    k = 1
    while path.exists():
        k += 1
        path = folder / f"{base}-{k}.jsonl"
    return path
