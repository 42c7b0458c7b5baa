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
flushed by time; repeat ends and the footer are fsynced. A reader drops a
torn last line (a crash mid-write), fails with the line number on a corrupt
middle line, and calls a file without ``end`` ``incomplete`` (resumable).

One writer per trace: whoever appends holds an exclusive ``flock`` on
``<trace>.lock`` (``TraceLock``), which names its process and host; the OS
drops the lock when that process dies, so a crash never leaves a trace
locked. Readers never take the lock. Every record a reader accepts has
been checked against the schema below (``validate_record``): valid JSON of
the wrong shape is a ``TraceError`` naming the file and line, never a
traceback further down.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.platform != "win32":   # no flock on Windows: traces are written there without a lock
    import fcntl

from naswot_tui.core.config import RunConfig, options
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


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, allow_nan=False, separators=(",", ":"))


# ---------------------------------------------------------------- one writer per trace


def lock_path(trace: str | Path) -> Path:
    """The lock file beside a trace: ``<trace>.lock``."""
    trace = Path(trace)
    return trace.with_name(trace.name + ".lock")


def _holder_text(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "another process"
    pid, host = holder.get("pid"), holder.get("host")
    here = host in (None, socket.gethostname())
    return f"process {pid}" + ("" if here else f" on host {host}")


class TraceLock:
    """The exclusive right to append to one trace.

    ``fcntl.flock`` on ``<trace>.lock``, which holds the writer's pid, host
    and start time (so a refusal can name it). The OS releases a flock when
    its process dies, so a killed run never leaves its trace locked; the
    stale file is simply locked again by the next writer.
    """

    #: a reader asking ``lock_holder`` holds a shared lock for microseconds; wait that long, no longer
    _RETRY_S = 0.25

    def __init__(self, trace: Path, path: Path, fd: int | None) -> None:
        self.trace, self.path, self._fd = trace, path, fd

    @classmethod
    def acquire(cls, trace: str | Path) -> TraceLock:
        """Lock ``trace`` for writing, or raise TraceError naming who holds it."""
        trace = Path(trace)
        path = lock_path(trace)
        if sys.platform == "win32":  # pragma: no cover
            return cls(trace, path, None)
        deadline = time.monotonic() + cls._RETRY_S
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise TraceError(f"cannot lock trace {trace}: {exc.strerror or exc} ({path})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read_holder(fd)
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise TraceError(f"cannot lock trace {trace}: {exc.strerror or exc}") from None
                if holder or time.monotonic() > deadline:
                    raise TraceError(
                        f"trace {trace} is being written by {_holder_text(holder)}; one writer per trace: "
                        "wait for that run to end (or stop it) before resuming") from None
                time.sleep(0.02)
                continue
            # A writer that just finished may have unlinked the file we opened: lock the one on disk.
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder).encode(), 0)
            return cls(trace, path, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Give the trace up (idempotent). The lock file goes too, unless a newer writer owns it."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            with contextlib.suppress(OSError):
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    os.unlink(self.path)
        finally:
            os.close(fd)   # closing drops the flock


def _read_holder(fd: int) -> dict[str, Any] | None:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"null")
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def lock_holder(trace: str | Path) -> dict[str, Any] | None:
    """Who is writing ``trace`` right now (``{"pid", "host", "since"}``), or None.

    Takes a shared lock for an instant; a writer that wants the lock then
    retries for a moment (``TraceLock._RETRY_S``) instead of failing."""
    path = lock_path(trace)
    if sys.platform == "win32":  # pragma: no cover
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _read_holder(fd) or {}
        return None
    finally:
        os.close(fd)


class TraceWriter:
    """The file: appends whole records; ``flush`` after a batch, ``sync`` at milestones.

    It knows nothing about events; ``TraceSink`` decides what goes in and when.
    It holds the trace's lock from opening to ``close``: ``lock`` is one the
    caller already took (a resume locks before it reads), else it takes one.
    """

    def __init__(self, path: Path, append: bool = False, lock: TraceLock | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = lock if lock is not None else TraceLock.acquire(self.path)
        try:
            if append:
                _truncate_torn_tail(self.path)   # under the lock: nobody else is appending
            self._file = open(self.path, "a" if append else "x", encoding="utf-8")  # noqa: SIM115 - closed in close()
        except FileExistsError:
            self.lock.release()
            raise TraceError(f"trace {self.path} already exists; a new run never overwrites a trace "
                             "(resume it with --resume, or pick another --out)") from None
        except OSError as exc:
            self.lock.release()
            raise TraceError(f"cannot open trace {self.path} for writing: {exc.strerror or exc}") from None
        self._last_flush = time.monotonic()

    def write_record(self, record: dict[str, Any]) -> None:
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
        try:
            if not self._file.closed:
                try:
                    self.sync()
                finally:
                    self._file.close()
        finally:
            self.lock.release()


class TraceSink:
    """A run's trace as a consumer of its events (``on_event``), closed once with
    the footer (``close``).

    New runs: the header is written and fsynced first. Resumed runs append to
    the same file: the header and the repeat starts it already holds are not
    written again, and replayed scores / repeat ends (``replayed=True``) are
    skipped, so a resumed trace has no duplicates. Scores are flushed by time,
    repeat ends and the footer fsynced.
    """

    def __init__(self, path: Path, resume_from: Trace | None = None, lock: TraceLock | None = None) -> None:
        self.path = Path(path)
        self.writer = TraceWriter(self.path, append=resume_from is not None, lock=lock)
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


# ---------------------------------------------------------------- the schema readers check

_Check = Callable[[Any], bool]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_count(v: Any) -> bool:
    return _is_int(v) and v >= 0


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _nullable(check: _Check) -> _Check:
    return lambda v: v is None or check(v)


def _is_sign(v: Any) -> bool:
    return v in (1, -1) and not isinstance(v, bool)


def _is_true(v: Any) -> bool:
    return v is True


def _is_accs(v: Any) -> bool:  # {"cifar10": {"test": 93.1, ...}, ...}
    return isinstance(v, dict) and all(
        isinstance(splits, dict) and all(_is_number(x) or x is None for x in splits.values())
        for splits in v.values())


END_STATUSES = ("completed", "cancelled", "failed")


def _is_status(v: Any) -> bool:
    return v in END_STATUSES


_COUNT, _NUM, _STR = _is_count, _nullable(_is_number), _nullable(_is_str)
_COUNT_OR_NULL, _ACCS_OR_NULL = _nullable(_is_count), _nullable(_is_accs)
_TYPE_WORDS = {_is_count: "a whole number >= 0", _NUM: "a number or null", _STR: "text or null",
               _COUNT_OR_NULL: "a whole number >= 0 or null", _ACCS_OR_NULL: "{dataset: {split: number}} or null",
               _is_str: "text", _is_sign: "1 or -1", _is_true: "true", _is_accs: "{dataset: {split: number}}",
               _is_status: " or ".join(END_STATUSES)}

#: record type -> (required fields, optional fields), each field -> its check
SCHEMA_FIELDS: dict[str, tuple[dict[str, _Check], dict[str, _Check]]] = {
    "header": ({"schema": _is_str}, {"batch_fingerprint": _STR, "seed": _COUNT_OR_NULL,
                                      "batch_size": _COUNT_OR_NULL, "hook_rule": _STR, "proxy": _STR,
                                      "data_source": _STR, "space_size": _COUNT_OR_NULL}),
    "repeat_start": ({"repeat": _is_count}, {"total": _COUNT, "batch": _STR, "batch_fingerprint": _STR}),
    "score": ({"repeat": _is_count, "i": _is_count, "index": _is_count, "arch": _is_str},
              {"score": _NUM, "score_inf": _is_sign, "score_nan": _is_true, "params": _NUM, "acc": _NUM,
               "t_s": _NUM, "error": _STR}),
    "repeat_end": ({"repeat": _is_count},
                   {"pick_index": _COUNT_OR_NULL, "pick_arch": _STR, "pick_score": _NUM,
                    "pick_score_inf": _is_sign, "pick_score_nan": _is_true, "pick_acc": _NUM,
                    "pick_accs": _ACCS_OR_NULL, "elapsed_s": _NUM, "n_scored": _COUNT, "n_errors": _COUNT}),
    "end": ({"status": _is_status}, {"error": _STR}),
}


def validate_record(rec: dict[str, Any]) -> str | None:
    """What is wrong with one decoded trace record (None when nothing is).

    Unknown record types and unknown fields are allowed (newer versions add
    them); the fields this version reads must have the types it expects.
    """
    kind = rec.get("type")
    if not isinstance(kind, str):
        return "a record without a text 'type'"
    if kind not in SCHEMA_FIELDS:
        return None
    required, optional = SCHEMA_FIELDS[kind]
    for name, check in required.items():
        if name not in rec:
            return f"a {kind} record without {name!r}"
        if not check(rec[name]):
            return f"{kind} field {name!r} must be {_TYPE_WORDS.get(check, 'of another type')} (got {rec[name]!r:.60})"
    for name, check in optional.items():
        if name in rec and not check(rec[name]):
            return f"{kind} field {name!r} must be {_TYPE_WORDS.get(check, 'of another type')} (got {rec[name]!r:.60})"
    if kind == "score" and "proxies" in rec and not isinstance(rec["proxies"], dict):
        return "score field 'proxies' must be an object {name: score}"
    if kind == "header":
        return _validate_config(rec.get("config", {}))
    return None


def _validate_config(config: Any) -> str | None:
    """The header's config: each field this version knows has its declared type."""
    if not isinstance(config, dict):
        return "header field 'config' must be an object"
    for opt in options():
        if opt.name not in config:
            continue
        value = config[opt.name]
        if value is None and opt.optional:
            continue
        kind = opt.py_type
        ok = _is_number(value) if kind is float else (
            isinstance(value, kind) and (kind is bool or not isinstance(value, bool)))
        if not ok:
            return f"header config {opt.name!r} must be {kind.__name__} (got {value!r:.60})"
    return None


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON (traces store it as score_inf / score_nan)")


@dataclass
class Trace:
    path: Path
    header: dict[str, Any]
    repeat_starts: dict[int, dict[str, Any]] = field(default_factory=dict)
    scores: list[ArchScored] = field(default_factory=list)
    repeat_ends: dict[int, RepeatFinished] = field(default_factory=dict)
    end: dict[str, Any] | None = None
    torn_tail: bool = False          # a partial last line was dropped
    extra_records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.end["status"] if self.end else "incomplete"

    @property
    def config(self) -> RunConfig:
        return RunConfig.from_dict(self.header.get("config", {}))

    def scores_of(self, repeat: int) -> list[ArchScored]:
        return [s for s in self.scores if s.repeat == repeat]


def read_trace(path: str | Path) -> Trace:
    """Read and check a trace; TraceError (exit 2) names the file and line of the first problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TraceError(f"trace {path} does not exist; list saved runs with 'naswot-tui runs'") from None
    except IsADirectoryError:
        raise TraceError(f"{path} is a directory, not a trace file") from None
    except OSError as exc:
        raise TraceError(f"cannot read trace {path}: {exc.strerror or exc}") from None
    lines = raw.split(b"\n")
    torn = False
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        torn = True  # no trailing newline: the writer died mid-line
    trace: Trace | None = None
    seen: dict[tuple[int, int], int] = {}    # (repeat, i) -> line of its score
    for number, line in enumerate(lines, start=1):
        last = number == len(lines)
        rec = _decode_line(path, line, number, torn_tail=last and torn)
        if rec is None:       # the torn last line
            break
        if last:
            torn = False      # a complete JSON object without its newline: keep it, it is whole
        if trace is None and (rec["type"] != "header" or not str(rec.get("schema", "")).startswith("naswot-trace/")):
            raise TraceError(f"{path} is not a naswot-tui trace (line 1 is not a header)")
        problem = validate_record(rec)
        if problem is None and trace is not None:
            problem = _add_record(trace, rec, number, seen)
        if problem is not None:
            raise TraceError(f"trace {path}:{number}: {problem}; not a valid naswot-tui trace "
                             "(restore the line or delete the file)")
        if trace is None:
            trace = Trace(path=path, header=rec)
    if trace is None:
        raise TraceError(f"trace {path} is empty")
    trace.torn_tail = torn
    return trace


def _decode_line(path: Path, line: bytes, number: int, torn_tail: bool) -> dict[str, Any] | None:
    """One line as a record; None for a torn last line (a writer killed mid-line)."""
    try:
        rec = json.loads(line, parse_constant=_reject_constant)
        if not isinstance(rec, dict) or "type" not in rec:
            raise ValueError("not a trace record")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        if torn_tail:
            return None
        raise TraceError(f"trace {path}:{number}: line {number} is corrupt ({str(exc)[:120]}); "
                         "the lines before it are intact") from None
    return rec


def _add_record(trace: Trace, rec: dict[str, Any], number: int, seen: dict[tuple[int, int], int]) -> str | None:
    """File one checked record into ``trace``; a problem only the whole file shows, or None."""
    kind = rec["type"]
    repeats = trace.header.get("config", {}).get("repeats")
    if kind in ("score", "repeat_start", "repeat_end") and _is_int(repeats) and rec["repeat"] >= repeats:
        return f"{kind} of repeat {rec['repeat']}, but the run has {repeats} repeat(s)"
    if kind == "score":
        key = (rec["repeat"], rec["i"])
        if key in seen:
            return (f"a second score for repeat {key[0]} step {key[1]} (the first is on line {seen[key]}); "
                    "two writers appended to this trace")
        seen[key] = number
        trace.scores.append(ArchScored.from_record(rec))
    elif kind == "repeat_start":
        trace.repeat_starts[rec["repeat"]] = rec
    elif kind == "repeat_end":
        trace.repeat_ends[rec["repeat"]] = RepeatFinished.from_record(rec)
    elif kind == "end":
        trace.end = rec
    elif kind == "header":
        return "a second header"
    else:
        trace.extra_records.append(rec)
    return None


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float encoded the way traces encode scores, for
    ``json.dumps(..., allow_nan=False)``: a field ``"k": -inf`` becomes ``"k": null, "k_inf": -1``
    (``+inf``: ``1``; NaN: ``"k": null, "k_nan": true``); a list element becomes
    ``{"inf": -1}`` / ``{"inf": 1}`` / ``{"nan": true}`` (a list has no sibling keys)."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"nan": True} if math.isnan(value) else {"inf": 1 if value > 0 else -1}
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(item, float) and not math.isfinite(item):
                out[key] = None
                if math.isnan(item):
                    out[f"{key}_nan"] = True
                else:
                    out[f"{key}_inf"] = 1 if item > 0 else -1
            else:
                out[key] = json_safe(item)
        return out
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


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
