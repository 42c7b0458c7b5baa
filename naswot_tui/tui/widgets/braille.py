"""Terminal pictures in plain characters: a braille point plot and a half-block heatmap.

Braille (U+2800..U+28FF) gives each character cell 2x4 dots, so a 40x10
area holds an 80x40 dot plot. Half blocks (``▀`` with a foreground and a
background colour) give each cell two square-ish pixels stacked. Both are
pure functions of numbers to ``rich.text.Text`` lines, tested without a
screen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.color import Color
from rich.style import Style
from rich.text import Text

# Bit of the dot at (column, row) inside one braille cell.
_DOT = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
BRAILLE_BASE = 0x2800


def _span(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi <= lo:  # one value: centre it
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def braille_points(xs: Sequence[float], ys: Sequence[float], width: int, height: int,
                   x_range: tuple[float, float] | None = None,
                   y_range: tuple[float, float] | None = None) -> list[str]:
    """``height`` lines of ``width`` braille characters with a dot per (x, y); y grows upwards."""
    width, height = max(width, 1), max(height, 1)
    cells = [[0] * width for _ in range(height)]
    if xs:
        x_lo, x_hi = x_range or _span(xs)
        y_lo, y_hi = y_range or _span(ys)
        dots_w, dots_h = width * 2, height * 4
        for x, y in zip(xs, ys, strict=True):
            if not (math.isfinite(x) and math.isfinite(y)):
                continue
            dx = min(int((x - x_lo) / (x_hi - x_lo) * dots_w), dots_w - 1)
            dy = min(int((y - y_lo) / (y_hi - y_lo) * dots_h), dots_h - 1)
            if dx < 0 or dy < 0:
                continue
            row = dots_h - 1 - dy  # screen rows grow downwards
            cells[row // 4][dx // 2] |= _DOT[dx % 2][row % 4]
    return ["".join(chr(BRAILLE_BASE + bits) for bits in line) for line in cells]


# A perceptually ordered ramp (dark blue -> teal -> yellow), as viridis, in 5 stops.
_RAMP = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def ramp_color(t: float) -> Color:
    """The ramp's colour at t in [0, 1] (NaN: grey)."""
    if not math.isfinite(t):
        return Color.from_rgb(90, 90, 90)
    t = min(max(t, 0.0), 1.0) * (len(_RAMP) - 1)
    k = min(int(t), len(_RAMP) - 2)
    f = t - k
    a, b = _RAMP[k], _RAMP[k + 1]
    r, g, bl = (round(a[c] + (b[c] - a[c]) * f) for c in range(3))
    return Color.from_rgb(r, g, bl)


def half_block_heatmap(matrix: Sequence[Sequence[float]], width: int, height: int,
                       lo: float | None = None, hi: float | None = None) -> list[Text]:
    """A matrix as ``height`` lines of ``width`` half blocks (2 matrix rows per line), colour = value.

    The matrix is sampled to ``width`` x ``2*height`` pixels (nearest cell), so any K fits the screen.
    """
    rows = len(matrix)
    cols = len(matrix[0]) if rows else 0
    width, height = max(width, 1), max(height, 1)
    if not rows or not cols:
        return [Text(" " * width) for _ in range(height)]
    flat = [v for row in matrix for v in row if math.isfinite(v)]
    lo = min(flat) if lo is None and flat else (lo if lo is not None else 0.0)
    hi = max(flat) if hi is None and flat else (hi if hi is not None else 1.0)
    scale = (hi - lo) or 1.0

    def pixel(py: int, px: int) -> Color:
        v = matrix[min(py * rows // (2 * height), rows - 1)][min(px * cols // width, cols - 1)]
        return ramp_color((v - lo) / scale)

    lines = []
    for y in range(height):
        line = Text()
        for x in range(width):
            line.append("▀", Style(color=pixel(2 * y, x), bgcolor=pixel(2 * y + 1, x)))
        lines.append(line)
    return lines
