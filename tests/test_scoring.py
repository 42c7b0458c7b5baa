"""score_network equals the authors' procedure on real NB201 networks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from authors_reference import authors_score
from naswot_tui.core.data import make_batch
from naswot_tui.core.scoring import hooked_modules, score_network
from naswot_tui.core.spaces import get_space
from naswot_tui.core.spaces.nb201 import live_edges, parse_cell

ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
# Node 1 is dead (only a 'none' input) yet feeds node 3; node 2 is live.
DEAD_NODE = "|none~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"
# No path from input to output: the cell outputs zeros.
DISCONNECTED = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"
CASES = [
    ALL_NONE, DEAD_NODE, DISCONNECTED,
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|avg_pool_3x3~0|none~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|",
]


@pytest.fixture(scope="module")
def batch():
    return make_batch("cifar10", "embedded", batch_size=32).to_tensor()


def _pair(arch: str, batch, hook_rule: str, seed: int = 0):
    space = get_space("nb201")
    torch.manual_seed(seed)
    model = space.build(arch, num_classes=1)
    ours = score_network(model, batch, hook_rule)
    theirs = authors_score(model, batch, hook_rule)
    return ours, theirs


def _equal(a: float, b: float) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


@pytest.mark.parametrize("arch", CASES)
def test_reference_rule_equals_authors_procedure(arch, batch):
    ours, theirs = _pair(arch, batch, "reference")
    assert _equal(ours, theirs), (arch, ours, theirs)


@pytest.mark.parametrize("arch", CASES[3:5])
def test_relu_rule_equals_plain_procedure_on_activations(arch, batch):
    ours, theirs = _pair(arch, batch, "relu")
    assert _equal(ours, theirs)


def test_dead_and_disconnected_cases_are_what_they_claim():
    assert not live_edges(parse_cell(DEAD_NODE))[0]
    assert any(live_edges(parse_cell(DEAD_NODE)))
    assert not any(live_edges(parse_cell(DISCONNECTED)))


def test_all_none_cell_scores_minus_infinity(batch):
    ours, _ = _pair(ALL_NONE, batch, "reference")
    assert ours == -math.inf


def test_reference_rule_counts_relu_conv_bn_and_its_relu():
    model = get_space("nb201").build(CASES[3])
    names = [type(m).__name__ for m in hooked_modules(model, "reference")]
    assert "ReLUConvBN" in names and "ReLU" in names
    relu_only = hooked_modules(model, "relu")
    assert all(type(m).__name__ == "ReLU" for m in relu_only)
    assert len(names) > len(relu_only)


def test_relu_rule_is_lower_by_about_b_ln2_per_doubling(batch):
    # Counting every code twice doubles K, which adds B*ln 2 to log|K|; the
    # reference rule double-counts most (not all) units, so the gap is close to it.
    ref, _ = _pair(CASES[3], batch, "reference")
    relu, _ = _pair(CASES[3], batch, "relu")
    gap = ref - relu
    assert 0.5 * 32 * np.log(2) < gap < 1.2 * 32 * np.log(2)


def test_scores_are_deterministic_for_a_seed(batch):
    a, _ = _pair(CASES[4], batch, "reference", seed=3)
    b, _ = _pair(CASES[4], batch, "reference", seed=3)
    assert a == b
