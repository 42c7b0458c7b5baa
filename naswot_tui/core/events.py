"""Events a run emits, as plain dataclasses.

Three sinks consume the same events: the trace writer, the headless
printer and the TUI (which receives them in batches). Each event that
belongs in a trace maps to one trace record (``to_record``) and back
(``from_record``); ``to_record(event)`` / ``from_record(record)`` below
dispatch on the type, and are the only encoder and decoder of trace
records. ``LogMessage`` has no record: log lines are for the person
watching, and traces hold data, so it is never written.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


def encode_score(value: float | None) -> dict[str, Any]:
    """JSON-safe score fields: ``-inf`` (a valid NASWOT score) is stored as
    ``"score": null, "score_inf": -1``; NaN as ``"score": null, "score_nan": true``."""
    if value is None:
        return {"score": None}
    if math.isnan(value):
        return {"score": None, "score_nan": True}
    if math.isinf(value):
        return {"score": None, "score_inf": 1 if value > 0 else -1}
    return {"score": value}


def decode_score(record: dict[str, Any]) -> float | None:
    if record.get("score") is not None:
        return float(record["score"])
    if "score_inf" in record:
        return math.inf if record["score_inf"] > 0 else -math.inf
    if record.get("score_nan"):
        return math.nan
    return None


def encode_proxy_value(value: float | None) -> Any:
    """One value of a score record's ``proxies`` dict: a plain number when finite,
    else what ``encode_score`` makes of it (``{"score": null, "score_inf": -1}``...)."""
    if value is not None and math.isfinite(value):
        return value
    return None if value is None else encode_score(value)


def decode_proxy_value(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return decode_score(value)
    return float(value)


@dataclass
class RunStarted:
    header: dict[str, Any]  # the trace header record

    def to_record(self) -> dict[str, Any]:
        return dict(self.header)

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> RunStarted:
        return cls(header=dict(rec))


@dataclass
class RepeatStarted:
    repeat: int
    total: int
    batch: str            # human description of the minibatch
    batch_fingerprint: str

    def to_record(self) -> dict[str, Any]:
        return {"type": "repeat_start", "repeat": self.repeat, "total": self.total, "batch": self.batch,
                "batch_fingerprint": self.batch_fingerprint}

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> RepeatStarted:
        return cls(repeat=rec["repeat"], total=rec.get("total", 0), batch=rec.get("batch", ""),
                   batch_fingerprint=rec.get("batch_fingerprint", ""))


@dataclass
class ArchScored:
    repeat: int
    i: int                # position in the repeat's draw
    index: int            # architecture index in the space
    arch: str
    score: float | None   # None when scoring failed; may be -inf
    t_s: float            # seconds spent on this architecture
    params: float | None = None   # millions
    acc: float | None = None      # benchmark test accuracy (%), when known
    error: str | None = None
    replayed: bool = False        # restored from a trace on resume, not recomputed
    extra: dict[str, Any] = field(default_factory=dict)  # search-specific fields (e.g. REA fitness)
    #: ``--proxies``: every proxy's value on this architecture (None when not asked; old traces)
    proxies: dict[str, float | None] | None = None

    def to_record(self) -> dict[str, Any]:
        rec = {"type": "score", "repeat": self.repeat, "i": self.i, "arch": self.arch, "index": self.index,
               **encode_score(self.score), "params": self.params, "acc": self.acc, "t_s": round(self.t_s, 6)}
        if self.error:
            rec["error"] = self.error
        if self.proxies is not None:
            rec["proxies"] = {k: encode_proxy_value(v) for k, v in self.proxies.items()}
        rec.update(self.extra)
        return rec

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> ArchScored:
        known = {"type", "repeat", "i", "arch", "index", "score", "score_inf", "score_nan", "params", "acc",
                 "t_s", "error", "proxies"}
        raw = rec.get("proxies")
        proxies = {k: decode_proxy_value(v) for k, v in raw.items()} if isinstance(raw, dict) else None
        return cls(repeat=rec["repeat"], i=rec["i"], index=rec["index"], arch=rec["arch"],
                   score=decode_score(rec), t_s=rec.get("t_s", 0.0), params=rec.get("params"),
                   acc=rec.get("acc"), error=rec.get("error"), replayed=True,
                   extra={k: v for k, v in rec.items() if k not in known}, proxies=proxies)


@dataclass
class RepeatFinished:
    repeat: int
    pick_index: int | None
    pick_arch: str | None
    pick_score: float | None
    pick_acc: float | None            # test accuracy on the run's dataset
    pick_accs: dict[str, Any] = field(default_factory=dict)  # {"cifar10": {"test": .., "valid": ..}, ...}
    elapsed_s: float = 0.0
    n_scored: int = 0
    n_errors: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False            # restored from a trace on resume

    def to_record(self) -> dict[str, Any]:
        rec = {"type": "repeat_end", "repeat": self.repeat, "pick_index": self.pick_index,
               "pick_arch": self.pick_arch, **{"pick_" + k: v for k, v in encode_score(self.pick_score).items()},
               "pick_acc": self.pick_acc, "pick_accs": self.pick_accs, "elapsed_s": round(self.elapsed_s, 6),
               "n_scored": self.n_scored, "n_errors": self.n_errors}
        rec.update(self.extra)
        return rec

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> RepeatFinished:
        score = decode_score({k[5:]: v for k, v in rec.items() if k.startswith("pick_score")})
        known = {"type", "repeat", "pick_index", "pick_arch", "pick_score", "pick_score_inf", "pick_score_nan",
                 "pick_acc", "pick_accs", "elapsed_s", "n_scored", "n_errors"}
        return cls(repeat=rec["repeat"], pick_index=rec.get("pick_index"), pick_arch=rec.get("pick_arch"),
                   pick_score=score, pick_acc=rec.get("pick_acc"), pick_accs=rec.get("pick_accs") or {},
                   elapsed_s=rec.get("elapsed_s", 0.0), n_scored=rec.get("n_scored", 0),
                   n_errors=rec.get("n_errors", 0), extra={k: v for k, v in rec.items() if k not in known},
                   replayed=True)


@dataclass
class RunFinished:
    status: str                 # completed | cancelled | failed
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_record(self) -> dict[str, Any]:
        rec = {"type": "end", "status": self.status, **self.summary}
        if self.error:
            rec["error"] = self.error
        return rec

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> RunFinished:
        summary = {k: v for k, v in rec.items() if k not in ("type", "status", "error")}
        return cls(status=rec.get("status", "failed"), summary=summary, error=rec.get("error"))


@dataclass
class LogMessage:
    level: str   # info | warning | error
    text: str


Event = RunStarted | RepeatStarted | ArchScored | RepeatFinished | RunFinished | LogMessage

#: record "type" -> event class; the header is the record whose type is "header"
RecordEvent = RunStarted | RepeatStarted | ArchScored | RepeatFinished | RunFinished
RECORD_TYPES: dict[str, type[RecordEvent]] = {"header": RunStarted, "repeat_start": RepeatStarted,
                                              "score": ArchScored, "repeat_end": RepeatFinished, "end": RunFinished}


def to_record(event: Event) -> dict[str, Any] | None:
    """The trace record of ``event``; None for events that have none (LogMessage)."""
    encode = getattr(event, "to_record", None)
    return encode() if encode is not None else None


def from_record(rec: dict[str, Any]) -> Event | None:
    """The event a trace record came from; None for record types we do not know
    (kept by the reader as extra records, so newer traces still load)."""
    cls = RECORD_TYPES.get(rec.get("type", ""))
    return cls.from_record(rec) if cls is not None else None


def event_dict(event: Event) -> dict[str, Any]:
    return asdict(event)
