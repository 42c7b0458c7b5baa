"""The NB101 cell drawing shows every edge once, at both of its ends."""

from __future__ import annotations

import numpy as np
import pytest

from naswot_tui.core.spaces.nb101_spec import random_spec
from naswot_tui.tui.widgets.dag import nb101_diagram, parse_nb101


@pytest.mark.parametrize("seed", range(25))
def test_each_row_shows_its_in_and_out_degree(seed):
    spec = random_spec(np.random.default_rng(seed))
    arch = spec.to_string()
    edges, labels = parse_nb101(arch)
    lines = nb101_diagram(arch)
    assert len(lines) == len(labels) == spec.num_vertices
    for r, line in enumerate(lines):
        lanes = line.split("●")[0]
        assert sum(lanes.count(c) for c in "└┴") == sum(1 for _, t in edges if t == r)
        assert sum(lanes.count(c) for c in "┌┬") == sum(1 for s, _ in edges if s == r)
        assert line.endswith(labels[r])
    assert lines[0].endswith("input") and lines[-1].endswith("output")


def test_malformed_strings_give_none():
    assert nb101_diagram("0101|c3") is None
    assert nb101_diagram("not an arch") is None
