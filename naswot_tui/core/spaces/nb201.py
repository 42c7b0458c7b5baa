"""NAS-Bench-201 / NATS-Bench topology search space (15,625 cells)."""

from __future__ import annotations

from functools import cached_property

import numpy as np
from torch import nn

from naswot_tui.core.errors import UsageError
from naswot_tui.core.spaces.base import SearchSpace
from naswot_tui.core.spaces.nb201_ops import OPS, TinyNetwork

# The six edges in string order: (target node, source node).
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


def format_cell(ops: tuple[str, ...] | list[str]) -> str:
    """``(op0..op5)`` in EDGES order -> ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
    nodes, k = [], 0
    for target in (1, 2, 3):
        parts = []
        for src in range(target):
            parts.append(f"{ops[k]}~{src}")
            k += 1
        nodes.append("|" + "|".join(parts) + "|")
    return "+".join(nodes)


def parse_cell(text: str) -> tuple[str, ...]:
    """Strictly parse an NB201 cell string into its six ops (EDGES order).

    Raises UsageError naming what is wrong.
    """
    if not isinstance(text, str) or not text:
        raise UsageError("empty NAS-Bench-201 architecture string; expected '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|'")
    nodes = text.split("+")
    if len(nodes) != 3:
        raise UsageError(
            f"malformed NAS-Bench-201 arch {text!r}: expected 3 nodes separated by '+', found {len(nodes)}")
    ops: list[str] = []
    for target, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")) or len(node) < 2:
            raise UsageError(f"malformed NAS-Bench-201 arch {text!r}: node {target} must be wrapped in '|'")
        edges = node[1:-1].split("|")
        if len(edges) != target:
            raise UsageError(
                f"malformed NAS-Bench-201 arch {text!r}: node {target} needs {target} edge(s), found {len(edges)}"
            )
        for src, edge in enumerate(edges):
            op, sep, inp = edge.partition("~")
            if not sep or inp != str(src):
                raise UsageError(
                    f"malformed NAS-Bench-201 arch {text!r}: edge {edge!r} of node {target} must read 'op~{src}'"
                )
            if op not in OPS:
                raise UsageError(
                    f"malformed NAS-Bench-201 arch {text!r}: unknown op {op!r}; expected one of {', '.join(OPS)}"
                )
            ops.append(op)
    return tuple(ops)


def genotype(ops: tuple[str, ...]) -> list[list[tuple[str, int]]]:
    """Six ops in EDGES order -> per-node lists of (op, source)."""
    nodes: list[list[tuple[str, int]]] = [[], [], []]
    for (target, src), op in zip(EDGES, ops, strict=True):
        nodes[target - 1].append((op, src))
    return nodes


def live_edges(ops: tuple[str, ...]) -> list[bool]:
    """Which edges lie on a path from the input (node 0) to the output (node 3).

    A cell with no such path outputs zeros whatever its input (341 of the
    15,625 NB201 cells).
    """
    present = [op != "none" for op in ops]
    forward = {0}
    for (t, s), p in zip(EDGES, present, strict=True):  # EDGES is in topological order
        if p and s in forward:
            forward.add(t)
    backward = {3}
    for (t, s), p in reversed(list(zip(EDGES, present, strict=True))):
        if p and t in backward:
            backward.add(s)
    return [p and s in forward and t in backward for (t, s), p in zip(EDGES, present, strict=True)]


# (params, FLOPs) of the network with every edge 'none', and what one edge of each op adds.
_CostCoefficients = tuple[tuple[int, int], dict[str, tuple[int, int]]]

# The coefficients of the heads and inputs the benchmark uses (scoring: 1 class at 32x32;
# CIFAR-10, CIFAR-100, ImageNet16-120), so `evaluate` needs no network build for them.
# tests/test_known_costs.py checks each against `_measured_coefficients`.
_CONV_COSTS_32 = {"none": (0, 0), "skip_connect": (0, 0), "nor_conv_1x1": (28000, 3932160),
                  "nor_conv_3x3": (243040, 35389440), "avg_pool_3x3": (0, 0)}
_STANDARD_COEFFICIENTS: dict[tuple[int, tuple[int, int, int]], _CostCoefficients] = {
    (1, (3, 32, 32)): ((72721, 7782465), _CONV_COSTS_32),
    (10, (3, 32, 32)): ((73306, 7783050), _CONV_COSTS_32),
    (100, (3, 32, 32)): ((79156, 7788900), _CONV_COSTS_32),
    (120, (3, 16, 16)): ((80456, 1953400), {"none": (0, 0), "skip_connect": (0, 0), "nor_conv_1x1": (28000, 983040),
                                            "nor_conv_3x3": (243040, 8847360), "avg_pool_3x3": (0, 0)}),
}


class NB201Space(SearchSpace):
    name = "nb201"
    description = "NAS-Bench-201 / NATS-Bench topology: 15,625 cells, 6 edges x 5 ops"
    ops = OPS
    edges = EDGES

    # The network the benchmark trained: 3 stages x 5 cells at 16/32/64.
    cells_per_stage = 5
    stem_width = 16

    @cached_property
    def _codes(self) -> np.ndarray:
        from naswot_tui.core.benchmarks.embedded import load_nb201_table

        return load_nb201_table()["archs"]

    @cached_property
    def _lookup(self) -> dict[tuple[int, ...], int]:
        return {tuple(int(c) for c in row): i for i, row in enumerate(self._codes)}

    @property
    def size(self) -> int:
        return len(self._codes)

    def ops_of(self, index: int) -> tuple[str, ...]:
        return tuple(OPS[c] for c in self._codes[self._check_index(index)])

    def arch(self, index: int) -> str:
        return format_cell(self.ops_of(index))

    def index(self, arch: str) -> int:
        ops = parse_cell(arch)
        return self._lookup[tuple(OPS.index(op) for op in ops)]

    def parse(self, arch: str) -> tuple[str, ...]:
        return parse_cell(arch)

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        codes = list(int(c) for c in self._codes[self._check_index(index)])
        edge = int(rng.integers(len(EDGES)))
        choices = [c for c in range(len(OPS)) if c != codes[edge]]
        codes[edge] = choices[int(rng.integers(len(choices)))]
        return self._lookup[tuple(codes)]

    def known_costs(self, arch: str, num_classes: int = 1,
                    input_size: tuple[int, int, int] = (3, 32, 32)) -> tuple[int, int] | None:
        """Exact params and FLOPs from the cell's op counts, without building it.

        Every cell of the network has the same genotype at its stage's width,
        and an edge's cost depends only on its op (``none`` and ``skip_connect``
        cost nothing, a conv edge is ReLU-conv-BN): so each count is
        ``base + sum(cost[op] * count(op))``. The coefficients come from building
        one reference network per op on the ``meta`` device (shapes only, no
        memory), once per (classes, input size); tests compare the result with
        built networks.
        """
        channels, height, width = (int(x) for x in input_size)
        base, per_op = self._cost_coefficients(int(num_classes), (channels, height, width))
        ops = parse_cell(arch)
        params = base[0] + sum(per_op[op][0] for op in ops)
        flops = base[1] + sum(per_op[op][1] for op in ops)
        return params, flops

    def _cost_coefficients(self, num_classes: int, input_size: tuple[int, int, int]) -> _CostCoefficients:
        key = (num_classes, input_size)
        cached = self._cost_memo.get(key) or _STANDARD_COEFFICIENTS.get(key)
        if cached is not None:
            return cached
        self._cost_memo[key] = self._measured_coefficients(num_classes, input_size)
        return self._cost_memo[key]

    def _measured_coefficients(self, num_classes: int, input_size: tuple[int, int, int]) -> _CostCoefficients:
        """Build one reference network per op on the ``meta`` device and take differences."""
        import torch

        from naswot_tui.core.flops import flops as count_flops

        def measure(ops: list[str]) -> tuple[int, int]:
            with torch.device("meta"):
                model = self.build(format_cell(ops), num_classes=num_classes)
            params = sum(p.numel() for p in model.parameters())
            return params, int(count_flops(model, input_size, convention="nb201"))

        empty = ["none"] * len(EDGES)
        base = measure(empty)
        per_op: dict[str, tuple[int, int]] = {}
        for op in OPS:
            one = measure([op] + empty[1:])
            per_op[op] = (one[0] - base[0], one[1] - base[1])
        return base, per_op

    @cached_property
    def _cost_memo(self) -> dict[tuple[int, tuple[int, int, int]], _CostCoefficients]:
        return {}

    def build(self, arch: str, num_classes: int = 1) -> nn.Module:
        ops = parse_cell(arch)
        n, c = self.cells_per_stage, self.stem_width
        widths = [c] * n + [2 * c] + [2 * c] * n + [4 * c] + [4 * c] * n
        reductions = [False] * n + [True] + [False] * n + [True] + [False] * n
        return TinyNetwork(genotype(ops), c, widths, reductions, num_classes)
