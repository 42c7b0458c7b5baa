"""Text drawing of a NAS-Bench-101 cell: vertices top to bottom, edges as lanes.

    ┌──── ● input
    │┌─── ● conv3x3
    ││┌── ● maxpool
    └┴┴─▶ ● output

Each edge (s -> t) runs down its own lane on the left, from vertex s's row to
vertex t's; lanes are shared by edges that do not overlap. Pure text, no
torch: the TUI draws it without loading the engine.
"""

from __future__ import annotations

_SHORT = {"input": "input", "output": "output", "conv3x3-bn-relu": "conv3x3", "conv1x1-bn-relu": "conv1x1",
          "maxpool3x3": "maxpool3x3", "c3": "conv3x3", "c1": "conv1x1", "mp": "maxpool3x3"}


def parse_nb101(arch: str) -> tuple[list[tuple[int, int]], list[str]] | None:
    """``<V*V bits>|<ops>`` -> (edges, labels including input/output), or None."""
    bits, sep, ops = arch.partition("|")
    v = int(round(len(bits) ** 0.5))
    if not sep or v * v != len(bits) or set(bits) - {"0", "1"}:
        return None
    interior = [o for o in ops.split(",") if o]
    if len(interior) != v - 2:
        return None
    labels = ["input", *(_SHORT.get(o, o) for o in interior), "output"]
    edges = [(s, t) for s in range(v) for t in range(v) if bits[s * v + t] == "1" and s < t]
    return edges, labels


def _assign_lanes(edges: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Greedy interval colouring: an edge joins the first lane whose last edge ended above it."""
    lanes: list[list[tuple[int, int]]] = []
    for s, t in sorted(edges, key=lambda e: (e[0], -e[1])):
        for lane in lanes:
            if lane[-1][1] < s:
                lane.append((s, t))
                break
        else:
            lanes.append([(s, t)])
    return lanes


def dag_lines(edges: list[tuple[int, int]], labels: list[str]) -> list[str]:
    lanes = _assign_lanes(edges)
    rows = []
    for r, label in enumerate(labels):
        cells = []
        for lane in lanes:
            event = " "
            for s, t in lane:
                if s == r:
                    event = "start"
                elif t == r:
                    event = "end"
                elif s < r < t:
                    event = "pass"
            cells.append(event)
        connecting = [k for k, e in enumerate(cells) if e in ("start", "end")]
        first = connecting[0] if connecting else len(cells)
        out = []
        for k, e in enumerate(cells):
            if k < first:
                out.append("│" if e == "pass" else " ")
            elif k == first:
                out.append("┌" if e == "start" else "└")
            else:
                out.append({"start": "┬", "end": "┴", "pass": "┼"}.get(e, "─"))
        arrives = any(e == "end" for e in cells)
        joint = ("─▶ " if arrives else "── ") if connecting else "   "
        rows.append("".join(out) + joint + "● " + label)
    return rows


def nb101_diagram(arch: str) -> list[str] | None:
    parsed = parse_nb101(arch)
    return None if parsed is None else dag_lines(*parsed)
