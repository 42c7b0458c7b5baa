"""NAS-Bench-101 cell specifications (docs/formats.md §1.6-1.7).

A spec is a strictly upper-triangular 0/1 adjacency matrix (row = source,
column = destination) plus one label per vertex; vertex 0 is the input, the
last vertex the output. Specs are pruned on construction (vertices not on an
input->output path are dropped) and then checked against the benchmark's
limits: at most 7 vertices and 9 edges *after* pruning.

Architecture strings (our canonical, parseable form)::

    <V*V adjacency bits, row-major>|<interior ops, comma-separated>
    e.g. 0111100000000100000010000001000001000000010000000|c3,c1,mp,c3,c3

with ``c3`` = conv3x3-bn-relu, ``c1`` = conv1x1-bn-relu, ``mp`` =
maxpool3x3 (the full labels are accepted too). The bits are the same text the
benchmark file stores.

Raw codes (the index space when no benchmark file is loaded): a spec padded
to 7 vertices is the integer ``matrix_code * 243 + ops_code``, where
``matrix_code`` reads the 21 upper-triangular entries (row-major) as binary,
most significant first, and ``ops_code`` reads the five interior op labels
(0, 1, 2 as below) as base-3 digits. A pruned spec with V < 7 vertices is
padded with isolated conv3x3 vertices just before the output. Its
*canonical* code is the smallest code over all vertex orders that keep the
matrix upper-triangular, so isomorphic specs share one code.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from naswot_tui.core.errors import UsageError

INPUT, OUTPUT = "input", "output"
# The benchmark's available_ops, in the order that defines hash labels 0, 1, 2.
OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
SHORT = ("c3", "c1", "mp")
MAX_VERTICES = 7
MAX_EDGES = 9
NUM_RAW_CODES = (1 << 21) * 3 ** 5  # 509,607,936 padded 7-vertex encodings


@dataclass(frozen=True)
class Spec:
    """A pruned, valid NB101 cell. ``matrix`` is a tuple of row tuples."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]  # V labels, first 'input', last 'output'

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    def np_matrix(self) -> np.ndarray:
        return np.array(self.matrix, dtype=np.int64).reshape(self.num_vertices, self.num_vertices)

    def labels(self) -> list[int]:
        return [-1] + [OPS.index(op) for op in self.ops[1:-1]] + [-2]

    def hash(self) -> str:
        return graph_hash(self.matrix, self.labels())

    def to_string(self) -> str:
        return format_spec(self)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def graph_hash(matrix: np.ndarray | Sequence[Sequence[int]], labels: list[int]) -> str:
    """The benchmark's module hash (section 1.7) of a pruned matrix and labels."""
    m = [[int(x) for x in row] for row in matrix]  # Python ints: NumPy 2 reprs differ
    v_count = len(m)
    out_deg = [sum(row) for row in m]
    in_deg = [sum(m[r][c] for r in range(v_count)) for c in range(v_count)]
    hashes = [_md5(str((out_deg[v], in_deg[v], int(labels[v])))) for v in range(v_count)]
    for _ in range(v_count):
        new = []
        for v in range(v_count):
            ins = "".join(sorted(hashes[w] for w in range(v_count) if m[w][v]))
            outs = "".join(sorted(hashes[w] for w in range(v_count) if m[v][w]))
            new.append(_md5(ins + "|" + outs + "|" + hashes[v]))
        hashes = new
    return _md5(str(sorted(hashes)))


def prune(matrix: np.ndarray, ops: list[str]) -> tuple[np.ndarray, list[str]] | None:
    """Drop vertices not on an input->output path; None if unconnected."""
    n = len(ops)
    forward, stack = {0}, [0]
    while stack:
        v = stack.pop()
        for w in range(v + 1, n):
            if matrix[v, w] and w not in forward:
                forward.add(w)
                stack.append(w)
    backward, stack = {n - 1}, [n - 1]
    while stack:
        v = stack.pop()
        for w in range(v):
            if matrix[w, v] and w not in backward:
                backward.add(w)
                stack.append(w)
    keep = sorted(forward & backward)
    if len(keep) < 2:
        return None
    return matrix[np.ix_(keep, keep)], [ops[k] for k in keep]


def make_spec(matrix: np.ndarray | Sequence[Sequence[int]], ops: Iterable[str]) -> Spec:
    """Check, prune and validate a spec; raises UsageError naming the problem."""
    ops = list(ops)
    m = np.asarray(matrix, dtype=np.int64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise UsageError(f"NAS-Bench-101 matrix must be square, got shape {m.shape}")
    if m.shape[0] != len(ops):
        raise UsageError(f"NAS-Bench-101 spec has a {m.shape[0]}x{m.shape[0]} matrix but {len(ops)} op labels")
    if m.shape[0] < 2:
        raise UsageError("NAS-Bench-101 spec needs at least an input and an output vertex")
    if not np.isin(m, (0, 1)).all():
        raise UsageError("NAS-Bench-101 matrix entries must be 0 or 1")
    if np.tril(m).any():
        raise UsageError("NAS-Bench-101 matrix must be strictly upper triangular "
                         "(edges go from lower to higher vertex)")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise UsageError(f"NAS-Bench-101 ops must start with 'input' and end with 'output', "
                         f"got {ops[0]!r}..{ops[-1]!r}")
    for op in ops[1:-1]:
        if op not in OPS:
            raise UsageError(f"unknown NAS-Bench-101 op {op!r}; expected one of {', '.join(OPS)}")
    pruned = prune(m, ops)
    if pruned is None:
        raise UsageError("NAS-Bench-101 spec is invalid: no path from input to output")
    pm, pops = pruned
    if len(pops) > MAX_VERTICES:
        raise UsageError(f"NAS-Bench-101 spec has {len(pops)} vertices after pruning; at most {MAX_VERTICES} allowed")
    if int(pm.sum()) > MAX_EDGES:
        raise UsageError(f"NAS-Bench-101 spec has {int(pm.sum())} edges after pruning; at most {MAX_EDGES} allowed")
    return Spec(tuple(tuple(int(x) for x in row) for row in pm), tuple(pops))


def try_spec(matrix: np.ndarray | Sequence[Sequence[int]], ops: Iterable[str]) -> Spec | None:
    try:
        return make_spec(matrix, ops)
    except UsageError:
        return None


# ------------------------------------------------------------ strings


def format_spec(spec: Spec) -> str:
    bits = "".join(str(x) for row in spec.matrix for x in row)
    return bits + "|" + ",".join(SHORT[OPS.index(op)] for op in spec.ops[1:-1])


def parse_spec(text: str) -> Spec:
    """Strictly parse ``bits|ops`` (see module docstring); prunes the result."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError("empty NAS-Bench-101 architecture; expected '<adjacency bits>|<ops>', "
                         "e.g. '0110001100001000|c3,mp'")
    bits, sep, ops_text = text.partition("|")
    if not sep or "|" in ops_text:
        raise UsageError(f"malformed NAS-Bench-101 arch {text!r}: "
                         "expected exactly one '|' between adjacency bits and ops")
    if not bits or set(bits) - {"0", "1"}:
        raise UsageError(f"malformed NAS-Bench-101 arch {text!r}: adjacency must be a string of 0/1 characters")
    v_count = int(round(len(bits) ** 0.5))
    if v_count * v_count != len(bits) or not 2 <= v_count <= MAX_VERTICES:
        raise UsageError(
            f"malformed NAS-Bench-101 arch {text!r}: {len(bits)} adjacency bits is not V*V for V in 2..{MAX_VERTICES}"
        )
    names = ops_text.split(",") if ops_text else []
    if len(names) != v_count - 2:
        raise UsageError(
            f"malformed NAS-Bench-101 arch {text!r}: {v_count} vertices need {v_count - 2} interior op(s), "
            f"found {len(names)}"
        )
    ops = []
    for name in names:
        if name in SHORT:
            ops.append(OPS[SHORT.index(name)])
        elif name in OPS:
            ops.append(name)
        else:
            raise UsageError(
                f"malformed NAS-Bench-101 arch {text!r}: unknown op {name!r}; expected one of "
                f"{', '.join(SHORT)} (or {', '.join(OPS)})"
            )
    matrix = np.array([int(b) for b in bits], dtype=np.int64).reshape(v_count, v_count)
    try:
        return make_spec(matrix, [INPUT, *ops, OUTPUT])
    except UsageError as exc:
        raise UsageError(f"NAS-Bench-101 arch {text!r}: {exc}") from None


# ------------------------------------------------------------ raw codes

# Weight of each upper-triangular entry of the padded 7x7 matrix.
_W7 = np.zeros((7, 7), dtype=np.int64)
for _k, (_i, _j) in enumerate((i, j) for i in range(7) for j in range(i + 1, 7)):
    _W7[_i, _j] = 1 << (20 - _k)
_OP_WEIGHTS = np.array([3 ** (4 - p) for p in range(5)], dtype=np.int64)  # interior positions 1..5


def decode_raw(code: int) -> tuple[np.ndarray, list[str]]:
    """Raw code -> padded 7-vertex (matrix, ops), not pruned."""
    if not 0 <= code < NUM_RAW_CODES:
        raise UsageError(f"NAS-Bench-101 code {code} out of range 0..{NUM_RAW_CODES - 1}")
    matrix_code, ops_code = divmod(int(code), 243)
    m = np.where(_W7 > 0, (matrix_code // np.maximum(_W7, 1)) % 2, 0)
    digits = []
    for _ in range(5):
        ops_code, d = divmod(ops_code, 3)
        digits.append(d)
    ops = [INPUT] + [OPS[d] for d in reversed(digits)] + [OUTPUT]
    return m.astype(np.int64), ops


def spec_of_raw(code: int) -> Spec | None:
    m, ops = decode_raw(code)
    return try_spec(m, ops)


@lru_cache(maxsize=8)
def _orders(n_interior: int) -> np.ndarray:
    """All orders of interior vertices as full vertex orders, shape (n!, n+2)."""
    perms = list(itertools.permutations(range(1, n_interior + 1)))
    return np.array([(0, *p, n_interior + 1) for p in perms], dtype=np.int64)


def canonical_code(spec: Spec) -> int:
    """Smallest raw code over the topological orders of the (pruned) spec."""
    m = spec.np_matrix()
    v_count = spec.num_vertices
    orders = _orders(v_count - 2)
    permuted = m[orders[:, :, None], orders[:, None, :]]          # (P, V, V)
    upper = ~np.tril(np.ones((v_count, v_count), dtype=bool))
    ok = ~(permuted & ~upper).any(axis=(1, 2))
    embed = list(range(v_count - 1)) + [6]                         # padding sits before the output
    w = _W7[np.ix_(embed, embed)]
    matrix_codes = (permuted * w).sum(axis=(1, 2))
    labels = np.array([-1] + [OPS.index(o) for o in spec.ops[1:-1]] + [-2], dtype=np.int64)
    interior = labels[orders[:, 1:-1]]                             # (P, V-2)
    op_codes = (interior * _OP_WEIGHTS[: v_count - 2]).sum(axis=1)  # padding ops are 0
    codes = matrix_codes * 243 + op_codes
    return int(codes[ok].min())


def padded(spec: Spec) -> tuple[np.ndarray, list[str]]:
    """The spec as a 7-vertex matrix and op list (padding: isolated conv3x3)."""
    v_count = spec.num_vertices
    embed = list(range(v_count - 1)) + [6]
    m = np.zeros((7, 7), dtype=np.int64)
    m[np.ix_(embed, embed)] = spec.np_matrix()
    ops = [OPS[0]] * 7
    ops[0], ops[6] = INPUT, OUTPUT
    for k, op in zip(embed[1:-1], spec.ops[1:-1], strict=True):
        ops[k] = op
    return m, ops


# Unique modules of the benchmark by vertex count. 2..6 are recounted by
# enumeration (tests/test_nb101.py); 7 is the rest of the documented 423,624.
MODULES_BY_VERTICES = {2: 1, 3: 6, 4: 84, 5: 2441, 6: 62010, 7: 359082}
NUM_MODULES = sum(MODULES_BY_VERTICES.values())  # 423,624


def num_encodings(spec: Spec) -> int:
    """How many distinct (matrix, ops) encodings the module has at its size:
    one per topological order of its interior vertices, up to symmetry."""
    m = spec.np_matrix()
    v_count = spec.num_vertices
    orders = _orders(v_count - 2)
    permuted = m[orders[:, :, None], orders[:, None, :]]
    ok = ~np.tril(permuted).any(axis=(1, 2))
    labels = np.array(spec.labels(), dtype=np.int64)[orders]
    keys = np.concatenate([permuted.reshape(len(orders), -1), labels], axis=1)[ok]
    return len(np.unique(keys, axis=0))


def random_spec(rng: np.random.Generator, v_count: int | None = None) -> Spec:
    """A module drawn uniformly from the benchmark's 423,624.

    Draw the vertex count with the benchmark's module counts as weights, then
    a uniformly random matrix and ops of that size, rejected unless no vertex
    is pruned and it has at most 9 edges; that proposal hits each module in
    proportion to its number of encodings, so accept with 1 / that number.
    ``v_count`` fixes the vertex count (uniform over modules of that size).
    (The benchmark README's recipe, a random 7x7 matrix kept when valid,
    would mostly give 4-5 vertex cells, while 85% of modules have 7.)
    """
    sizes = np.array(list(MODULES_BY_VERTICES))
    weights = np.array(list(MODULES_BY_VERTICES.values()), dtype=float)
    if v_count is None:
        v_count = int(rng.choice(sizes, p=weights / weights.sum()))
    iu = np.triu_indices(v_count, 1)
    while True:
        # proposals in batches: most are rejected, and numpy checks them all at once
        batch = 256
        m = np.zeros((batch, v_count, v_count), dtype=np.int64)
        m[:, iu[0], iu[1]] = rng.integers(0, 2, (batch, len(iu[0])))
        ops_codes = rng.integers(0, 3, (batch, v_count - 2))
        draws = rng.random(batch)
        reach = m.copy()
        for _ in range(v_count):
            reach = np.minimum(reach + reach @ m, 1)
        live = reach[:, 0, 1:].all(axis=1) & reach[:, :-1, -1].all(axis=1)
        keep = live & (m.sum(axis=(1, 2)) <= MAX_EDGES)
        for k in np.flatnonzero(keep):
            ops = (INPUT, *(OPS[int(c)] for c in ops_codes[k]), OUTPUT)
            spec = Spec(tuple(tuple(int(x) for x in row) for row in m[k]), ops)
            if draws[k] * num_encodings(spec) < 1.0:
                return spec


def neighbours(spec: Spec, rng: np.random.Generator) -> Iterator[Spec]:
    """Changes of the padded spec as valid specs different from it, in random
    order: first every single change (one edge flipped or one interior op
    changed), then pairs of changes. Pairs are needed only where no single
    change gives a new module, e.g. the input->output cell, which grows only
    by adding a vertex with both of its edges."""
    m, ops = padded(spec)
    # (kind, a, b): flip edge a->b (b an int), or set the op of vertex a to b (a str)
    moves: list[tuple[str, int, int | str]] = [("edge", i, j) for i in range(7) for j in range(i + 1, 7)]
    moves += [("op", v, op) for v in range(1, 6) for op in OPS if op != ops[v]]
    own = spec.hash()

    def apply(chosen: list[tuple[str, int, int | str]]) -> Spec | None:
        m2, ops2 = m.copy(), list(ops)
        for _kind, a, b in chosen:
            if isinstance(b, int):  # an edge (kind "edge")
                m2[a, b] ^= 1
            else:
                ops2[a] = b
        child = try_spec(m2, ops2)
        return child if child is not None and child.hash() != own else None

    for k in rng.permutation(len(moves)):
        child = apply([moves[int(k)]])
        if child is not None:
            yield child
    pairs = [(a, b) for a in range(len(moves)) for b in range(a + 1, len(moves))
             if not (moves[a][0] == moves[b][0] == "op" and moves[a][1] == moves[b][1])]
    for k in rng.permutation(len(pairs)):
        a, b = pairs[int(k)]
        child = apply([moves[a], moves[b]])
        if child is not None:
            yield child
