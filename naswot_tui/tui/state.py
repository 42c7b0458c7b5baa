"""What the live screen shows, folded from events; plain Python, bounded.

The app applies each batch of events here (in the UI thread, cheaply) and
the live widgets render from it, so the state survives switching screens
and a 15,625-row replay costs a few lists of floats, never 15,625 widgets.

``status`` is not read off the events: the app sets it from the scoring
worker's state (running, then completed / cancelled / failed when the
worker ends), and from pause/resume. ``finished`` keeps the footer event.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

from naswot_tui.core.events import (
    ArchScored,
    LogMessage,
    RepeatFinished,
    RepeatStarted,
    RunFinished,
    RunStarted,
)

SPARK_POINTS = 400          # recent scores kept for the stream sparkline
BEST_POINTS = 2000          # best-so-far curve is thinned to about this many points
TOP_KEEP = 60               # top rows kept, so a tall screen can show more than top_k
SCATTER_POINTS = 20000      # distinct (score, accuracy) pairs kept for the scatter (all of NB201)


@dataclass(frozen=True)
class TopEntry:
    score: float
    index: int
    arch: str
    params: float | None
    acc: float | None
    i: int


def finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


class LiveState:
    def __init__(self, top_k: int = 10, recent: int = 5, keep: int | None = None) -> None:
        # top_k rows are always shown; up to ``keep`` are kept for screens tall enough to show them.
        self.top_k, self.recent_n = top_k, recent
        self.top_keep = max(top_k, keep or top_k)
        self.reset()

    def reset(self, mode: str = "run") -> None:
        # Bumped on every reset so a widget can tell a new run from the same run.
        self.generation = getattr(self, "generation", -1) + 1
        self.mode = mode                    # run | resume | replay
        # idle | preparing | running | paused | replay | completed | cancelled | failed | incomplete
        self.status = "idle"
        self.header: dict = {}
        self.config: dict = {}
        self.trace_path: str | None = None
        self.repeat = 0
        self.repeats = 1
        self.per_repeat = 0                 # N
        self.done_in_repeat = 0
        self.done = 0                       # over all repeats
        self.errors = 0
        self.t_sum = 0.0                    # seconds spent scoring (pauses excluded)
        self.n_timed = 0
        self.started_at: float | None = None
        # Rates: only architectures scored now count (not cache hits, not replayed records), over wall time.
        self.fresh = 0
        self.cached = 0
        self.replayed = 0
        self.fresh_last_at: float | None = None
        # Distinct architectures with a finite score and a known accuracy: index -> (score, acc).
        self.points: dict[int, tuple[float, float]] = {}
        self.scores: deque[float] = deque(maxlen=SPARK_POINTS)
        self.best_curve: list[float] = []   # best-so-far score in this repeat, thinned
        self._best_stride = 1
        self._best_seen = 0
        self.best: ArchScored | None = None
        self.top: list[TopEntry] = []       # sorted, best first; at most top_k; one per index
        self.recent: deque[ArchScored] = deque(maxlen=self.recent_n)
        self.picks: list[RepeatFinished] = []
        self.log: deque[tuple[str, str]] = deque(maxlen=200)
        self.log_serial = 0                 # lines ever logged in this run (the deque keeps the last 200)
        self.finished: RunFinished | None = None
        # --proxies: each proxy's value and the accuracy of every distinct architecture with a
        # known accuracy, for the running Kendall tau (widgets/proxy_tau.py); -inf for no value.
        self.proxy_names: list[str] = []
        self.proxy_values: dict[str, list[float]] = {}
        self.proxy_accs: list[float] = []
        self._proxy_seen: set[int] = set()
        self.version = 0

    # ------------------------------------------------------------ folding
    def apply(self, events: list, now: float | None = None) -> None:
        for event in events:
            if isinstance(event, ArchScored):
                self._scored(event)
                self._count(event, now)
            elif isinstance(event, RepeatStarted):
                self._repeat_started(event)
            elif isinstance(event, RepeatFinished):
                self.picks.append(event)
            elif isinstance(event, RunStarted):
                self._run_started(event, now)
            elif isinstance(event, RunFinished):
                self.finished = event  # the status follows when the worker ends (see end())
                if event.error:
                    self._log("error", event.error)
            elif isinstance(event, LogMessage):
                self._log(event.level, event.text)
        self.version += 1

    def note(self, level: str, text: str) -> None:
        """A log line from the app itself (trace path, cancelling, a failure)."""
        self._log(level, text)
        self.version += 1

    def _run_started(self, event: RunStarted, now: float | None) -> None:
        self.header = event.header
        self.config = event.header.get("config", {})
        self.repeats = int(self.config.get("repeats") or 1)
        self.per_repeat = int(self.config.get("n") or 0)
        if self.status in ("idle", "preparing"):
            self.status = "running" if self.mode != "replay" else "replay"
        if self.started_at is None and now is not None:
            self.started_at = now

    def _log(self, level: str, text: str) -> None:
        self.log.append((level, text))
        self.log_serial += 1

    def log_since(self, serial: int) -> list[tuple[str, str]]:
        """The lines logged after the first ``serial`` (as many as the bounded log still holds)."""
        missing = self.log_serial - serial
        return list(self.log)[-missing:] if missing > 0 else []

    def end(self, status: str) -> None:
        """The worker ended: completed / cancelled / failed / incomplete (a replay), or idle (never started)."""
        self.status = status
        self.version += 1

    def _count(self, e: ArchScored, now: float | None) -> None:
        if e.replayed:
            self.replayed += 1
        elif e.extra.get("cached"):
            self.cached += 1
        else:
            self.fresh += 1
            if now is not None:
                self.fresh_last_at = now
        if finite(e.score) and e.acc is not None and len(self.points) < SCATTER_POINTS:
            self.points.setdefault(e.index, (float(e.score), float(e.acc)))  # type: ignore[arg-type]

    def _repeat_started(self, event: RepeatStarted) -> None:
        if event.repeat != self.repeat or self.done_in_repeat:
            self.best_curve, self._best_stride, self._best_seen = [], 1, 0
            self.best, self.top, self.done_in_repeat = None, [], 0
            self.recent.clear()
        self.repeat = event.repeat
        self.per_repeat = event.total or self.per_repeat

    def _scored(self, e: ArchScored) -> None:
        if e.repeat != self.repeat:
            self._repeat_started(RepeatStarted(e.repeat, self.per_repeat, "", ""))
        self.done += 1
        self.done_in_repeat += 1
        if not e.replayed or self.mode == "replay":
            self.t_sum += e.t_s
            self.n_timed += 1
        if e.error:
            self.errors += 1
        self.recent.append(e)
        if finite(e.score):
            self.scores.append(e.score)
        if e.score is not None and not math.isnan(e.score) and (self.best is None or e.score > self.best.score):
            self.best = e  # ties keep the first drawn, as the search does
        if self.best is not None and finite(self.best.score):
            self._push_best(self.best.score)
        if finite(e.score):
            self._offer_top(e)
        if e.proxies and e.acc is not None and e.index not in self._proxy_seen:
            self._add_proxy_row(e)

    def _add_proxy_row(self, e: ArchScored) -> None:
        assert e.proxies is not None and e.acc is not None
        self._proxy_seen.add(e.index)
        for name in e.proxies:
            if name not in self.proxy_values:
                self.proxy_names.append(name)
                self.proxy_values[name] = [-math.inf] * len(self.proxy_accs)  # earlier rows lacked it
        for name in self.proxy_names:
            value = e.proxies.get(name)
            self.proxy_values[name].append(-math.inf if value is None or math.isnan(value) else value)
        self.proxy_accs.append(e.acc)

    def _push_best(self, value: float) -> None:
        # Keep every stride-th point; double the stride when the list fills up.
        self._best_seen += 1
        if (self._best_seen - 1) % self._best_stride == 0:
            self.best_curve.append(value)
            if len(self.best_curve) > BEST_POINTS:
                self.best_curve = self.best_curve[::2]
                self._best_stride *= 2
        else:
            self.best_curve[-1] = max(self.best_curve[-1], value)

    def _offer_top(self, e: ArchScored) -> None:
        if len(self.top) >= self.top_keep and e.score <= self.top[-1].score:
            return
        if any(t.index == e.index for t in self.top):
            return  # drawn again (sampling with replacement): same network, same row
        entry = TopEntry(e.score, e.index, e.arch, e.params, e.acc, e.i)
        keys = [-t.score for t in self.top]
        self.top.insert(bisect.bisect_right(keys, -e.score), entry)
        del self.top[self.top_keep:]

    # ------------------------------------------------------------ derived
    @property
    def total(self) -> int:
        return self.per_repeat * self.repeats

    def rate(self) -> float | None:
        """Architectures scored per second: fresh work (no cache hits, no replayed records) over wall time.

        Cache hits and replayed records cost nothing, so counting them would show absurd rates;
        a replay has no rate at all. Without wall times (tests), scoring time is the clock.
        """
        if self.mode == "replay" or not self.fresh:
            return None
        if self.started_at is not None and self.fresh_last_at is not None and self.fresh_last_at > self.started_at:
            return self.fresh / (self.fresh_last_at - self.started_at)
        return self.n_timed / self.t_sum if self.t_sum > 0 and self.n_timed else None

    def eta_s(self) -> float | None:
        rate = self.rate()
        if rate is None or self.status not in ("running", "paused"):
            return None
        return max(self.total - self.done, 0) / rate

    def pick_stats(self) -> tuple[float | None, float | None]:
        accs = [p.pick_acc for p in self.picks if p.pick_acc is not None]
        if not accs:
            return None, None
        mean = sum(accs) / len(accs)
        return mean, math.sqrt(sum((a - mean) ** 2 for a in accs) / len(accs))

    def best_acc(self) -> float | None:
        return self.best.acc if self.best is not None else None
