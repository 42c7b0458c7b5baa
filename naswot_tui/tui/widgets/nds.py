"""NDS picks drawn instead of printed as JSON.

An NDS architecture string is the JSON of the benchmark's ``net`` object.
Two shapes exist: AnyNet-style networks (ResNet, ResNeXt, Vanilla: stages
with a depth ``ds``, a width ``ws`` and a stride ``ss`` each) and cell
networks (DARTS, ENAS, PNAS, NASNet, Amoeba: a ``genotype`` with a normal
and a reduction cell, each node the sum of two ops on earlier nodes). The
first is drawn as one bar per stage (blocks for depth, a bar for width),
the second as the cells' node equations. Anything else returns None and
the caller shows the string.
"""

from __future__ import annotations

import json
from typing import Any

# Short op names for the cells (the vocabulary of the NDS cell spaces).
OP_SHORT = {"none": "none", "skip_connect": "skip", "sep_conv_3x3": "sep3", "sep_conv_5x5": "sep5",
            "sep_conv_7x7": "sep7", "dil_conv_3x3": "dil3", "dil_conv_5x5": "dil5", "max_pool_3x3": "max3",
            "avg_pool_3x3": "avg3", "conv_7x1_1x7": "c7x1", "conv_1x1": "c1x1", "conv_3x3": "c3x3",
            "max_pool_5x5": "max5", "max_pool_7x7": "max7", "conv_3x1_1x3": "c3x1", "lin_sep_conv_3x3": "lsep3"}
BAR = 14  # characters of the widest stage's width bar

# A line is a list of (text, role) chunks; roles are CellDiagram's: node | op | none | line.
Chunks = list[tuple[str, str]]


def _parse(arch: str) -> dict[str, Any] | None:
    if not arch.lstrip().startswith("{"):
        return None
    try:
        net = json.loads(arch)
    except (ValueError, RecursionError):
        return None
    return net if isinstance(net, dict) else None


def anynet_lines(net: dict[str, Any]) -> list[Chunks] | None:
    """One line per stage: depth as blocks, width as a bar scaled to the widest stage, stride."""
    ds, ws = net.get("ds"), net.get("ws")
    if not (isinstance(ds, list) and isinstance(ws, list) and ds and len(ds) == len(ws)):
        return None
    if not all(isinstance(v, (int, float)) and v > 0 for v in [*ds, *ws]):
        return None
    ss = net.get("ss") if isinstance(net.get("ss"), list) and len(net["ss"]) == len(ds) else [None] * len(ds)
    widest, deepest = max(ws), max(int(d) for d in ds)
    lines: list[Chunks] = [[(f"{net.get('block_type', 'AnyNet')} · {len(ds)} stages", "node")]]
    for k, (d, w, s) in enumerate(zip(ds, ws, ss, strict=True)):
        bar = "█" * max(1, round(BAR * w / widest))
        lines.append([(f"s{k + 1} ", "node"), ("■" * int(d) + " " * (deepest - int(d)), "op"),
                      (f" d{int(d)} ", "none"), (bar.ljust(BAR), "line"),
                      (f" w{w:g}" + (f" /{s}" if s and s != 1 else ""), "none")])
    return lines


def _cell(name: str, pairs: list[Any], concat: list[Any]) -> list[Chunks] | None:
    """``name``: node k (from 2) = op(input) + op(input); c0, c1 are the two previous cells."""
    if not isinstance(pairs, list) or len(pairs) % 2 or not pairs:
        return None
    lines: list[Chunks] = [[(f"{name} cell", "node")]]
    for k in range(len(pairs) // 2):
        line: Chunks = [(f" n{k + 2} ", "node"), ("= ", "line")]
        for j, pair in enumerate(pairs[2 * k:2 * k + 2]):
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], int)):
                return None
            op, src = str(pair[0]), pair[1]
            node = f"c{src}" if src < 2 else f"n{src}"
            if j:
                line.append((" + ", "line"))
            line += [(OP_SHORT.get(op, op), "none" if op == "none" else "op"), (f"({node})", "node")]
        lines.append(line)
    outs = " ".join(f"n{c}" for c in concat) if isinstance(concat, list) else "?"
    lines.append([(" out ", "node"), (f"= concat {outs}", "line")])
    return lines


def cell_lines(net: dict[str, Any]) -> list[Chunks] | None:
    """The normal and reduction cells' node equations, then width and depth."""
    g = net.get("genotype")
    if not isinstance(g, dict):
        return None
    normal = _cell("normal", g.get("normal"), g.get("normal_concat"))
    reduce = _cell("reduce", g.get("reduce"), g.get("reduce_concat"))
    if normal is None or reduce is None:
        return None
    tail: Chunks = [(f"width {net.get('width', '?')} · depth {net.get('depth', '?')}", "none")]
    return [*normal, *reduce, tail]


def nds_lines(arch: str) -> list[Chunks] | None:
    """The diagram of an NDS architecture string, or None when it is not one."""
    net = _parse(arch)
    if net is None:
        return None
    return anynet_lines(net) if "ds" in net else cell_lines(net)
