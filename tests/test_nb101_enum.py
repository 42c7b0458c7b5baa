"""The NB101 enumeration (core/spaces/nb101_enum.py) against brute force and the benchmark's counts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from naswot_tui.core.spaces.nb101_enum import iter_module_codes, module_chunks
from naswot_tui.core.spaces.nb101_spec import MODULES_BY_VERTICES, NUM_MODULES, graph_hash, prune, spec_of_raw


def _brute_force_hashes(max_vertices: int) -> set[str]:
    """Graph hashes of every labelled encoding with up to ``max_vertices`` vertices (the benchmark's way)."""
    seen = set()
    for v in range(2, max_vertices + 1):
        pairs = [(i, j) for i in range(v) for j in range(i + 1, v)]
        for bits in range(1 << len(pairs)):
            m = np.zeros((v, v), dtype=np.int64)
            for k, (i, j) in enumerate(pairs):
                m[i, j] = bits >> k & 1
            if m.sum() > 9:
                continue
            pruned = prune(m, ["input"] + ["x"] * (v - 2) + ["output"])
            if pruned is None or len(pruned[1]) != v:
                continue
            for ops in itertools.product(range(3), repeat=v - 2):
                seen.add(graph_hash(m.tolist(), [-1, *ops, -2]))
    return seen


def test_up_to_four_vertices_equals_brute_force():
    codes = list(iter_module_codes(4))
    assert len(codes) == len(set(codes))                       # each module once
    hashes = {spec_of_raw(code).hash() for code in codes}      # every code decodes to a valid cell
    assert hashes == _brute_force_hashes(4)


def test_counts_per_vertex_count_up_to_five():
    total = 0
    for v in range(2, 6):
        total += MODULES_BY_VERTICES[v]
        assert sum(1 for _ in iter_module_codes(v)) == total


def test_chunks_are_the_enumeration_in_order():
    chunks = list(module_chunks(size=100, max_vertices=5))
    assert all(len(c) == 100 for c in chunks[:-1]) and 0 < len(chunks[-1]) <= 100
    assert [code for c in chunks for code in c] == list(iter_module_codes(5))


@pytest.mark.slow
def test_the_whole_space_is_423624_modules():
    codes = set(iter_module_codes())
    assert len(codes) == NUM_MODULES == 423624
