"""The best architecture drawn as a picture: an NB201 cell as a DAG of four
nodes and six labelled edges, an NB101 cell as lanes (widgets/dag.py), a
NATS-sss network as channel-width bars, an NDS network as its stages or its
cells' node equations (widgets/nds.py), anything else as its wrapped string.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from naswot_tui.tui.widgets.dag import nb101_diagram
from naswot_tui.tui.widgets.nds import nds_lines

# Same order as core.spaces.nb201.EDGES: (target, source). Not imported from
# there because that module loads torch, and this widget paints replays.
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
SHORT = {"none": "none", "skip_connect": "skip", "nor_conv_1x1": "c1x1", "nor_conv_3x3": "c3x3",
         "avg_pool_3x3": "avg3"}
LEGEND = "c1x1/c3x3 conv  avg3 pool  skip id"
SSS_CHOICES = (8, 16, 24, 32, 40, 48, 56, 64)


def nb201_ops(arch: str) -> tuple[str, ...] | None:
    """The six ops in EDGES order, or None when ``arch`` is not an NB201 cell."""
    nodes = arch.split("+")
    if len(nodes) != 3:
        return None
    ops: list[str] = []
    for target, node in enumerate(nodes, start=1):
        edges = node.strip("|").split("|")
        if len(edges) != target:
            return None
        for src, edge in enumerate(edges):
            op, _, inp = edge.partition("~")
            if inp != str(src) or op not in SHORT:
                return None
            ops.append(op)
    return tuple(ops)


def sss_widths(arch: str) -> list[int] | None:
    parts = arch.split(":")
    if len(parts) != 5 or not all(p.isdigit() for p in parts):
        return None
    return [int(p) for p in parts]


# Grid cells: (char, role) with role in node | op | none | line.
Grid = list[list[tuple[str, str]]]


def nb201_grid(ops: tuple[str, ...]) -> Grid:
    """Nodes (0)..(3) on one line; chain edges between them, 0->2 and 0->3 as
    arcs above, 1->3 as an arc below. 33 columns x 6 rows."""
    width, height = 33, 6
    grid: Grid = [[(" ", "line") for _ in range(width)] for _ in range(height)]
    by_edge = dict(zip(EDGES, ops, strict=False))  # a short arch string leaves edges undrawn

    def role(op: str) -> str:
        return "none" if op == "none" else "line"

    def put(row: int, col: int, text: str, r: str) -> None:
        for k, ch in enumerate(text):
            grid[row][col + k] = (ch, r)

    def hline(row: int, x0: int, x1: int, left: str, right: str, op: str) -> None:
        r = role(op)
        put(row, x0, left + "─" * (x1 - x0 - 1) + right, r)
        label = f" {SHORT[op]} "
        put(row, x0 + (x1 - x0 + 1 - len(label)) // 2, label, "none" if op == "none" else "op")

    main = 3
    for k, x in enumerate((0, 10, 20, 30)):
        put(main, x, f"({k})", "node")
    for (t, s), x in (((1, 0), 3), ((2, 1), 13), ((3, 2), 23)):
        op = by_edge[(t, s)]
        put(main, x, "─", role(op))
        put(main, x + 1, SHORT[op].center(4), "none" if op == "none" else "op")
        put(main, x + 5, "─▶", role(op))
    # 0 -> 3 outer arc above
    op = by_edge[(3, 0)]
    hline(0, 0, 32, "┌", "┐", op)
    for row in (1, 2):
        put(row, 0, "│", role(op))
    put(1, 32, "│", role(op))
    put(2, 32, "▼", role(op))
    # 0 -> 2 inner arc above
    op = by_edge[(2, 0)]
    hline(1, 2, 21, "┌", "┐", op)
    put(2, 2, "│", role(op))
    put(2, 21, "▼", role(op))
    # 1 -> 3 arc below
    op = by_edge[(3, 1)]
    put(4, 11, "│", role(op))
    put(4, 31, "▲", role(op))
    hline(5, 11, 31, "└", "┘", op)
    return grid


def sss_lines(widths: list[int]) -> list[tuple[str, str]]:
    """One bar per layer, eight blocks at the widest choice."""
    out = []
    for k, w in enumerate(widths):
        out.append((f"L{k} ", "node"))
        out.append(("█" * max(1, round(w / 8)) + "░" * (8 - max(1, round(w / 8))) + f" {w:>2}\n", "op"))
    return out


class CellDiagram(Widget):
    """Draws ``arch`` (set the reactive-like attribute via ``show``)."""

    DEFAULT_CSS = """
    CellDiagram { height: auto; min-height: 6; width: 1fr; }
    CellDiagram > .cell--node { color: $cell-node; text-style: bold; }
    CellDiagram > .cell--op { color: $cell-op; }
    CellDiagram > .cell--none { color: $cell-none; }
    CellDiagram > .cell--line { color: $foreground; }
    """
    COMPONENT_CLASSES = {"cell--node", "cell--op", "cell--none", "cell--line"}

    def __init__(self, arch: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.arch = arch

    def show(self, arch: str | None) -> None:
        if arch != self.arch:
            self.arch = arch
            self.refresh(layout=True)

    def _styles(self) -> dict[str, Style]:
        return {r: self.get_component_rich_style(f"cell--{r}") for r in ("node", "op", "none", "line")}

    def render(self) -> Text:
        if not self.arch:
            return Text("no architecture yet", style=self._styles()["none"])
        styles = self._styles()
        ops = nb201_ops(self.arch)
        if ops is not None:
            text = Text()
            for row in nb201_grid(ops):
                for ch, r in row:
                    text.append(ch, styles[r])
                text.append("\n")
            text.append(LEGEND, styles["none"])
            return text
        lines = nb101_diagram(self.arch)
        if lines is not None:
            text = Text()
            for line in lines:
                lanes, dot, label = line.partition("●")
                text.append(lanes, styles["line"])
                text.append(dot + label + "\n", styles["node"] if label.strip() in ("input", "output")
                            else styles["op"])
            text.append("NAS-Bench-101 cell: edges run down lanes", styles["none"])
            return text
        widths = sss_widths(self.arch)
        if widths is not None:
            text = Text()
            for chunk, r in sss_lines(widths):
                text.append(chunk, styles[r])
            text.append("channels per layer (NATS-sss)", styles["none"])
            return text
        nds = nds_lines(self.arch)
        if nds is not None:
            text = Text()
            for line in nds:
                for chunk, r in line:
                    text.append(chunk, styles[r])
                text.append("\n")
            text.rstrip()
            return text
        return Text(self.arch, style=styles["op"], overflow="fold")
