"""Each proxy equals a plain re-implementation of its authors' code (tests/proxy_references.py)
on the same real NB201 network, batch and initialisation."""

from __future__ import annotations

import math

import pytest
import torch

import proxy_references as ref
from naswot_tui.core.data import make_batch
from naswot_tui.core.proxies import score_proxies
from naswot_tui.core.proxies.activation import SWAP_REG_MU, SWAP_REG_SIGMA
from naswot_tui.core.proxies.meco import meco_score
from naswot_tui.core.proxies.zen import zen_score
from naswot_tui.core.spaces import get_space

# A conv-heavy cell, a pooling/skip cell and one with a "none" edge.
CELLS = (
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    "|avg_pool_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|skip_connect~2|",
    "|none~0|+|nor_conv_3x3~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|",
)


@pytest.fixture(scope="module")
def batch():
    return make_batch("cifar10", "embedded", batch_size=12)


def _net(cell: str, seed: int = 0, classes: int = 10):
    torch.manual_seed(seed)
    return get_space("nb201").build(cell, num_classes=classes)


def _xy(batch):
    return batch.to_tensor(), torch.as_tensor(batch.labels)


@pytest.mark.parametrize("cell", CELLS)
def test_gradient_proxies_equal_zero_cost_nas(cell, batch):
    net = _net(cell)
    x, y = _xy(batch)
    ours = score_proxies(net, batch, ["snip", "grad_norm", "plain", "fisher", "grasp", "l2_norm", "jacov", "synflow"])
    expected = {
        "snip": ref.ref_snip(net, x, y),
        "grad_norm": ref.ref_grad_norm(net, x, y),
        "plain": ref.ref_plain(net, x, y),
        "fisher": ref.ref_fisher(net, x, y),
        "grasp": ref.ref_grasp(net, x, y),
        "l2_norm": ref.ref_l2_norm(net),
        "jacov": ref.ref_jacov(net, x),
        "synflow": ref.ref_synflow(net, tuple(x.shape[1:])),
    }
    for name, value in expected.items():
        # plain and grasp are signed sums of cancelling terms: compare on the scale of their magnitudes.
        assert ours[name] == pytest.approx(value, rel=1e-5, abs=1e-6), name
    assert ours["l2_norm"] == expected["l2_norm"]  # the same arithmetic, exactly


@pytest.mark.parametrize("cell", CELLS[:2])
def test_zico_equals_the_authors_code_on_two_half_batches(cell, batch):
    net = _net(cell, seed=1)
    x, y = _xy(batch)
    half = x.shape[0] // 2
    expected = ref.ref_zico(net, [(x[:half], y[:half]), (x[half:], y[half:])])
    assert score_proxies(net, batch, ["zico"])["zico"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_swap_equals_the_authors_code_and_shares_naswots_pass(cell, batch):
    net = _net(cell, seed=2)
    x, _ = _xy(batch)
    ours = score_proxies(net, batch, ["swap", "swap-reg", "naswot"])  # codes from NASWOT's kernel pass
    assert ours["swap"] == ref.ref_swap(net, x)  # a count: exact
    assert score_proxies(net, batch, ["swap"])["swap"] == ours["swap"]  # codes from the "relu" rule's pass
    assert score_proxies(net, batch, ["swap", "jacov"])["swap"] == ours["swap"]
    factor = ref.ref_swap_regular_factor(net, SWAP_REG_MU, SWAP_REG_SIGMA)
    assert ours["swap-reg"] == pytest.approx(ref.ref_swap(net, x, factor), rel=1e-6)


@pytest.mark.parametrize("cell", CELLS)
def test_meco_equals_the_authors_code(cell):
    net = _net(cell, seed=3)
    expected = ref.ref_meco(net, seed=11)
    ours = meco_score(net, torch.Generator().manual_seed(11))
    assert ours == pytest.approx(expected, rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("cell", CELLS)
def test_zen_equals_the_authors_code(cell):
    net = _net(cell, seed=4)
    expected = ref.ref_zen(net, seed=5, batch_size=8, resolution=32)
    ours = zen_score(net, (3, 32, 32), 8, torch.Generator().manual_seed(5))
    assert ours == pytest.approx(expected, rel=1e-5)
    assert math.isfinite(ours)


def test_proxies_on_a_network_outside_the_fast_path(batch):
    """NB101 runs its own forward: SWAP's codes come from the shared forward's ReLU hooks there."""
    from naswot_tui.core import fastpath
    from naswot_tui.core.scoring import score_network
    from naswot_tui.core.spaces.nb101 import build_network
    from naswot_tui.core.spaces.nb101_spec import make_spec

    matrix = [[0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    torch.manual_seed(6)
    net = build_network(make_spec(matrix, ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"]),
                        num_classes=10)
    assert not fastpath.supports(net)
    x, y = _xy(batch)
    ours = score_proxies(net, batch, ["naswot", "swap", "snip", "jacov"])
    assert ours["naswot"] == score_network(net, x)
    assert ours["swap"] == ref.ref_swap(net, x)
    assert ours["snip"] == pytest.approx(ref.ref_snip(net, x, y), rel=1e-5)
    assert ours["jacov"] == pytest.approx(ref.ref_jacov(net, x), rel=1e-5)
