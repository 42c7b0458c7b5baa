"""Overlaid line plot on a braille canvas (2x4 dots per cell), y labels on
the left, one colour per series from the theme (``$series-1`` ...).
"""

from __future__ import annotations

import math

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from naswot_tui.tui.themes import APP_VARIABLES, SERIES

# Dot bit for (dx, dy) inside a braille cell.
_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
Y_LABEL = 9


def _fmt(v: float) -> str:
    return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.2e}"


class BraillePlot(Widget):
    DEFAULT_CSS = """
    BraillePlot { height: 1fr; min-height: 5; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.series: list[tuple[str, list[float | None]]] = []
        self.empty_text = "nothing to plot"

    def set_series(self, series: list[tuple[str, list[float | None]]], empty_text: str = "nothing to plot") -> None:
        self.series, self.empty_text = series, empty_text
        self.refresh()

    def _color(self, k: int) -> Style:
        var = SERIES[k % len(SERIES)]
        return Style(color=self.app.theme_variables.get(var, APP_VARIABLES[var]))

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        values = [v for _, s in self.series for v in s if v is not None and math.isfinite(v)]
        if not values or width <= Y_LABEL + 2 or height < 2:
            return Text(self.empty_text, style="dim")
        lo, hi = min(values), max(values)
        if hi == lo:
            lo, hi = lo - 1.0, hi + 1.0
        cols, rows = width - Y_LABEL, height - 1
        dots_x, dots_y = cols * 2, rows * 4
        cells: dict[tuple[int, int], int] = {}
        owner: dict[tuple[int, int], int] = {}
        longest = max(len(s) for _, s in self.series)

        def dot(x: int, y: int, k: int) -> None:
            key = (x // 2, y // 4)
            cells[key] = cells.get(key, 0) | _BITS[x % 2][y % 4]
            owner[key] = k

        for k, (_, series) in enumerate(self.series):
            prev = None
            for x in range(dots_x):
                # Sample the series at this pixel column (all series share the x axis).
                idx = round(x * (longest - 1) / max(dots_x - 1, 1)) if longest > 1 else 0
                v = series[idx] if idx < len(series) else None
                if v is None or not math.isfinite(v):
                    prev = None
                    continue
                y = round((hi - v) / (hi - lo) * (dots_y - 1))
                if prev is not None:
                    # Join to the previous column so steps read as lines.
                    step = 1 if y >= prev else -1
                    for yy in range(prev, y, step):
                        dot(x, yy, k)
                dot(x, y, k)
                prev = y
        styles = [self._color(k) for k in range(len(self.series))]
        text = Text()
        for row in range(rows):
            label = _fmt(hi) if row == 0 else _fmt(lo) if row == rows - 1 else ""
            text.append(label.rjust(Y_LABEL - 2) + " ┤", style="dim")
            for col in range(cols):
                bits = cells.get((col, row))
                if bits:
                    text.append(chr(0x2800 + bits), styles[owner[(col, row)]])
                else:
                    text.append(" ")
            text.append("\n")
        axis = f"0{'':>{max(cols - len(str(longest)) - 1, 0)}}{longest}"
        text.append(" " * Y_LABEL + axis[:cols], style="dim")
        return text

    def legend(self) -> Text:
        text = Text()
        for k, (label, _) in enumerate(self.series):
            text.append("━━ ", self._color(k))
            text.append(label + "  ")
        return text
