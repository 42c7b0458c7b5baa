"""Per-worker state on the Live screen: busy or idle, archs/s and device of each
worker of a ``procs`` or ``ray`` run (core/executors).

Worker states are not events (they say nothing a trace keeps), so the widget
reads them from the running evaluator twice a second. It stays hidden for
local runs and replays, which have no workers.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

MARK = {"busy": "●", "idle": "○", "starting": "…", "dead": "✗"}


def describe_workers(states: list[Any]) -> Text:
    """One line: ``workers  #0 ● cpu 1.9/s 12  #1 ○ cpu 2.0/s 11``."""
    text = Text("workers ", style="bold")
    for s in states:
        style = "green" if s.state == "busy" else "red" if s.state == "dead" else "dim"
        text.append(f" #{s.worker} ", style="bold")
        text.append(MARK.get(s.state, "?"), style=style)
        text.append(f" {s.device} {s.archs_per_s:.1f}/s {s.scored} ")
    return text


def running_worker_states(app: Any) -> list[Any]:
    """The worker states of the app's running evaluator; [] when there are none."""
    source = getattr(getattr(app, "runner", None), "source", None)
    evaluator = getattr(getattr(source, "run", None), "evaluator", None)
    states = getattr(evaluator, "worker_states", None)
    return list(states()) if callable(states) else []


class WorkersLine(Static):
    """The workers of the current run, one line (hidden when there are none)."""

    DEFAULT_CSS = "WorkersLine { height: auto; padding: 0 1; }"
    INTERVAL_S = 0.5

    def on_mount(self) -> None:
        self.display = False
        self._shown: tuple = ()
        self.set_interval(self.INTERVAL_S, self.refresh_states)

    def refresh_states(self) -> None:
        states = running_worker_states(self.app)
        key = tuple((s.worker, s.state, s.scored, s.device) for s in states)
        if key == self._shown:
            return
        self._shown = key
        self.display = bool(states)
        if states:
            self.update(describe_workers(states))
