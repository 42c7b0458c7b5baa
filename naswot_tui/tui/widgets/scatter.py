"""The Live screen's scatter: score against benchmark accuracy, in braille, with the running tau.

It shows every distinct architecture scored so far whose accuracy the
ground truth knows (``LiveState.points``), re-drawn to the widget's size,
and Kendall's tau-b of score against accuracy over the same points
(``core.stats.kendall``: the number ``naswot-tui evaluate`` prints for the
same architectures, -inf cells left out). Without ground truth it says so.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual.widget import Widget

from naswot_tui.tui.state import LiveState
from naswot_tui.tui.widgets.braille import braille_points
from naswot_tui.tui.widgets.live import LivePart, fmt


class ScoreScatter(LivePart, Widget):
    """Braille scatter, y = score, x = accuracy; the title line carries tau and the ranges."""

    DEFAULT_CSS = "ScoreScatter { height: 1fr; min-height: 4; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.tau: float | None = None

    def key(self, s: LiveState) -> Any:
        return len(s.points)

    def paint(self, s: LiveState) -> None:
        pairs = list(s.points.values())
        self.ys = [p[0] for p in pairs]
        self.xs = [p[1] for p in pairs]
        self.tau = None
        if len(pairs) >= 3:
            from naswot_tui.core.stats import kendall  # scipy: loaded on the first points, not at start

            self.tau = kendall(self.ys, self.xs)
        self.refresh()

    def title(self) -> Text:
        if not self.xs:
            return Text("score vs acc: no accuracies yet (needs ground truth)", style="dim")
        tau = "-" if self.tau is None else f"{self.tau:.3f}"
        return Text.assemble(("τ ", "bold"), (tau, "bold"),
                             f"  n {len(self.xs)}  score {fmt(min(self.ys), '.0f')}–{fmt(max(self.ys), '.0f')}"
                             f" ↑  acc {fmt(min(self.xs), '.1f')}–{fmt(max(self.xs), '.1f')} →")

    def render(self) -> Group:
        width, height = self.content_size.width, self.content_size.height
        lines = braille_points(self.xs, self.ys, width, max(height - 1, 1)) if height > 1 else []
        title = self.title()
        title.truncate(max(width, 1))
        return Group(title, *(Text(line, style="cyan") for line in lines))
