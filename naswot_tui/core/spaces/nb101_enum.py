"""Every NAS-Bench-101 module once, without the benchmark file, as a generator.

The benchmark's 423,624 modules are the cells of <= 7 vertices and <= 9 edges
(input, output and interior ops in 3 kinds) in which every vertex lies on an
input->output path, counted once per isomorphism class (the benchmark
deduplicates by its graph hash; ``graph_hash`` in nb101_spec). We enumerate
them without hashing each of the ~10^7 labelled encodings:

1. per vertex count V, every upper-triangular matrix with <= 9 edges in which
   no vertex is pruned, kept once per isomorphism class of the unlabelled DAG
   (its smallest matrix code over the interior orders that keep it
   upper-triangular);
2. per kept matrix, its automorphisms (interior orders that map it to itself);
3. per labelling of the interior vertices (3^(V-2)), kept when it is the
   smallest of its orbit under those automorphisms.

Each module comes out as its canonical raw code (the index of the nb101 space
without a benchmark file, ``canonical_code``), in chunks, so a whole-space run
holds integers, never networks. ``iter_module_codes`` yields them one vertex
count at a time; ``module_chunks`` groups them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from naswot_tui.core.spaces.nb101_spec import (
    INPUT,
    MAX_EDGES,
    MAX_VERTICES,
    OPS,
    OUTPUT,
    Spec,
    _orders,
    canonical_code,
    prune,
)


def _unpruned_matrices(v_count: int) -> Iterator[np.ndarray]:
    """Upper-triangular matrices of ``v_count`` vertices, <= 9 edges, no vertex pruned."""
    pairs = [(i, j) for i in range(v_count) for j in range(i + 1, v_count)]
    names = [INPUT] + ["x"] * (v_count - 2) + [OUTPUT]
    for edges in range(v_count - 1 if v_count > 2 else 1, min(MAX_EDGES, len(pairs)) + 1):
        for chosen in itertools.combinations(range(len(pairs)), edges):
            m = np.zeros((v_count, v_count), dtype=np.int64)
            for k in chosen:
                m[pairs[k]] = 1
            # cheap necessary conditions first: every interior vertex has an in- and an out-edge
            if v_count > 2 and (not m[:, 1:-1].any(axis=0).all() or not m[1:-1].any(axis=1).all()):
                continue
            pruned = prune(m, names)
            if pruned is not None and len(pruned[1]) == v_count:
                yield m


def _matrix_classes(v_count: int) -> Iterator[tuple[np.ndarray, list[tuple[int, ...]]]]:
    """One matrix per isomorphism class, with its automorphisms (as interior orders)."""
    orders = _orders(v_count - 2)
    upper = np.triu(np.ones((v_count, v_count), dtype=bool), 1)
    weights = np.zeros((v_count, v_count), dtype=np.int64)
    pairs = [(a, b) for a in range(v_count) for b in range(a + 1, v_count)]
    for k, (a, b) in enumerate(pairs):
        weights[a, b] = 1 << k
    seen: set[int] = set()
    for m in _unpruned_matrices(v_count):
        permuted = m[orders[:, :, None], orders[:, None, :]]
        ok = ~(permuted.astype(bool) & ~upper).any(axis=(1, 2))
        codes = (permuted * weights).sum(axis=(1, 2))
        canon = int(codes[ok].min())
        if canon in seen:
            continue
        seen.add(canon)
        own = int((m * weights).sum())
        autos = [tuple(int(x) - 1 for x in order[1:-1]) for order, code, good in zip(orders, codes, ok, strict=True)
                 if good and code == own]
        yield m, autos


def iter_module_codes(max_vertices: int = MAX_VERTICES) -> Iterator[int]:
    """The canonical raw code of every module with up to ``max_vertices`` vertices, each once."""
    for v_count in range(2, max_vertices + 1):
        interior = v_count - 2
        for m, autos in _matrix_classes(v_count):
            for labels in itertools.product(range(len(OPS)), repeat=interior):
                # the smallest labelling of its orbit under the matrix's automorphisms stands for it
                if any(tuple(labels[p] for p in auto) < labels for auto in autos):
                    continue
                ops = (INPUT, *(OPS[x] for x in labels), OUTPUT)
                yield canonical_code(Spec(tuple(tuple(int(x) for x in row) for row in m), ops))


def module_chunks(size: int = 4096, max_vertices: int = MAX_VERTICES) -> Iterator[list[int]]:
    """``iter_module_codes`` in lists of ``size`` codes (work units for executors)."""
    chunk: list[int] = []
    for code in iter_module_codes(max_vertices):
        chunk.append(code)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
