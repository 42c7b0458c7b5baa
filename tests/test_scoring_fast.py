"""The fast scorer's shortcuts change no bit of the kernel or the score.

The fast path (core.fastpath + the int8 kernel accumulator) skips dead
subgraphs, 'none' edges and the head, pools with a depthwise convolution
(or shifted adds) and forms K
from Gram products of the codes. Each test compares it with a computation
that takes none of those shortcuts.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from authors_reference import authors_score
from naswot_tui.core import fastpath
from naswot_tui.core.data import make_batch
from naswot_tui.core.scoring import _KernelAccumulator, hamming_kernel, hooked_modules, init_seed, score_network
from naswot_tui.core.spaces import get_space
from naswot_tui.core.spaces.nb201 import EDGES, live_edges

SPACE = get_space("nb201")


@pytest.fixture(scope="module")
def batch():
    return make_batch("cifar10", "embedded", batch_size=12).to_tensor()


def full_kernel(model: nn.Module, batch: torch.Tensor, hook_rule: str = "reference") -> np.ndarray:
    """No shortcut at all: the network's own forward, a hook on every hooked
    module, two float products per hooked call, summed in numpy float64."""
    n = batch.shape[0]
    total = np.zeros((n, n))

    def hook(module, args):
        nonlocal total
        c = (args[0].reshape(n, -1) > 0).double()
        total = total + (c @ c.T).numpy() + ((1 - c) @ (1 - c).T).numpy()

    handles = [m.register_forward_pre_hook(hook) for m in hooked_modules(model, hook_rule)]
    try:
        model.train()
        with torch.no_grad():
            model(batch)
    finally:
        for h in handles:
            h.remove()
    return total


def build(index: int, seed: int = 3) -> nn.Module:
    torch.manual_seed(init_seed(seed, index))
    return SPACE.build(SPACE.arch(index), num_classes=1)


def has_dead_node(ops: tuple[str, ...]) -> bool:
    """Some inner node is not on an input -> output path (its work is skippable)."""
    on_path = {n for (t, s), live in zip(EDGES, live_edges(ops), strict=True) if live for n in (t, s)}
    return any(j not in on_path for j in (1, 2))


def sample_with_dead_nodes(count: int = 300, seed: int = 11) -> list[int]:
    rng = np.random.default_rng(seed)
    drawn = [int(i) for i in rng.choice(SPACE.size, size=count, replace=False)]
    return [i for i in drawn if has_dead_node(SPACE.ops_of(i))]


DEAD_SAMPLE = sample_with_dead_nodes()


def test_sample_has_many_dead_and_some_disconnected_cells():
    assert len(DEAD_SAMPLE) > 60
    disconnected = [i for i in DEAD_SAMPLE if not any(live_edges(SPACE.ops_of(i)))]
    assert disconnected, "the sample should include cells with no input->output path"


def test_every_dead_node_architecture_in_a_sample_of_300_has_the_exact_kernel(batch):
    mismatches = []
    for index in DEAD_SAMPLE:
        model = build(index)
        assert fastpath.supports(model)
        fast = hamming_kernel(model, batch)
        full = full_kernel(model, batch)
        if not np.array_equal(fast, full):
            mismatches.append(SPACE.arch(index))
    assert not mismatches, mismatches[:5]


@pytest.mark.parametrize("index", DEAD_SAMPLE[:8])
def test_relu_rule_dead_nodes_exact(index, batch):
    model = build(index)
    assert np.array_equal(hamming_kernel(model, batch, "relu"), full_kernel(model, batch, "relu"))


BIT_CASES = [
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",                                   # K singular: -inf
    "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|",                   # disconnected
    "|none~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|",  # dead node 1
    "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|avg_pool_3x3~0|none~1|none~2|",            # node 1 unread
    "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
]


@pytest.mark.parametrize("arch", BIT_CASES)
def test_score_network_is_bit_identical_to_the_authors_procedure(arch, batch):
    index = SPACE.index(arch)
    ours = score_network(build(index), batch)
    theirs = authors_score(build(index), batch)
    assert ours == theirs or (math.isinf(ours) and ours == theirs), (arch, ours, theirs)


def test_all_none_cell_is_minus_infinity_and_skips_all_work(batch):
    model = build(SPACE.index(BIT_CASES[0]))
    assert score_network(model, batch) == -math.inf


def test_generic_hook_path_equals_authors_for_an_unknown_network(batch):
    """A network the executor does not know runs its own forward with hooks."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 32 * 32, 1))
    assert not fastpath.supports(model)
    assert score_network(model, batch) == authors_score(model, batch)


def test_a_hook_on_the_model_disables_the_fast_path():
    model = build(0)
    model.cells[0].register_forward_hook(lambda *a: None)
    assert not fastpath.supports(model)


@pytest.mark.parametrize("shape", [(4, 3, 7, 5), (2, 16, 32, 32), (3, 5, 2, 2), (2, 4, 1, 6)])
def test_shifted_average_pool_is_bit_identical_to_the_module(shape):
    torch.manual_seed(1)
    x = torch.randn(shape)
    x[0, 0, 0, 0] = -0.0
    pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if fastpath._shifted_pool_ok(pool, x):
        assert torch.equal(fastpath._shifted_avg_pool(pool, x), pool(x))
    else:
        assert shape[2] <= 1 or shape[3] <= 1


POOLS = {
    "avg_pool_3x3": lambda: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    "shortcut_2x2": lambda: nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
}


@pytest.mark.parametrize("pool_name", sorted(POOLS))
@pytest.mark.parametrize("shape", [(128, 16, 32, 32), (128, 64, 8, 8), (3, 5, 7, 6), (2, 4, 2, 2)])
def test_window_sum_pool_returns_exactly_the_modules_output(pool_name, shape):
    torch.manual_seed(4)
    x = torch.randn(shape) * torch.rand(shape) ** 8 * 1e3      # magnitudes spread wide: any reordering shows
    x[x.abs() < 0.1] = 0.0
    pool = POOLS[pool_name]()
    assert fastpath._conv_pool_ok(pool, x)
    fastpath._CONV_POOL_EXACT.clear()
    first = fastpath._window_sum_pool(pool, x)          # verifies this shape once ...
    assert torch.equal(first, pool(x))
    second = fastpath._window_sum_pool(pool, x * -3.0)  # ... then trusts the verdict for new values
    assert torch.equal(second, pool(x * -3.0))


def test_window_sum_pool_falls_back_where_the_convolution_is_not_exact(monkeypatch):
    """A convolution that adds the taps in another order is caught on the first
    input of its shape and never used for that shape again."""
    torch.manual_seed(5)
    x = torch.randn(2, 3, 6, 6)
    pool = POOLS["avg_pool_3x3"]()
    real_conv2d = fastpath.F.conv2d

    def reordered_conv2d(inp, weight, *args, **kwargs):
        out = real_conv2d(inp, weight, *args, **kwargs)
        return out + 1e-3 if weight.shape[1] == 1 and inp.shape == x.shape else out

    monkeypatch.setattr(fastpath.F, "conv2d", reordered_conv2d)
    fastpath._CONV_POOL_EXACT.clear()
    try:
        assert torch.equal(fastpath._window_sum_pool(pool, x), pool(x))
        assert list(fastpath._CONV_POOL_EXACT.values()) == [False]
        assert torch.equal(fastpath._window_sum_pool(pool, x + 1), pool(x + 1))   # the shifted adds now
    finally:
        fastpath._CONV_POOL_EXACT.clear()


def test_pools_that_count_padding_keep_the_module():
    pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=True)
    assert not fastpath._conv_pool_ok(pool, torch.randn(2, 3, 6, 6))


def test_int8_and_float_grams_give_the_same_kernel():
    torch.manual_seed(2)
    xs = [torch.randn(10, 3, 5, 5), torch.randn(10, 7)]
    ks = []
    for int8 in (True, False):
        acc = _KernelAccumulator(10, torch.device("cpu"))
        acc._int8 = int8
        for x in xs:
            acc.add(x)
        acc.add(xs[0])          # read twice: multiplicity 2
        acc.add_zeros(11)       # an all-zero input of 11 units
        ks.append(acc.finish())
    assert torch.equal(ks[0], ks[1])
    expected = 11.0
    for x, m in ((xs[0], 2), (xs[1], 1)):
        c = (x.reshape(10, -1) > 0).double()
        expected = expected + m * (c @ c.T + (1 - c) @ (1 - c).T)
    assert torch.equal(ks[0], expected)


def test_accumulator_holds_no_activation_and_retires_dead_tensors():
    acc = _KernelAccumulator(4, torch.device("cpu"))
    x = torch.randn(4, 6)
    acc.add(x)
    assert len(acc._live) == 1
    del x   # the weak entry retires at once: a new tensor reusing the id is not confused with it
    assert not acc._live and len(acc._retired) == 1
    y = torch.randn(4, 6)
    acc.add(y)
    acc.add(y)
    assert acc._live[id(y)][1] == 2


@pytest.mark.skipif((__import__("os").cpu_count() or 1) < 2, reason="needs a spare core")
def test_worker_pools_that_fill_the_cores_score_without_the_helper_thread(batch):
    """scoring.allow_kernel_helper(False) (what a full pool's workers call) keeps
    K's products on the scoring thread; the kernel is the same either way."""
    from naswot_tui.core import scoring

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cpu = torch.device("cpu")
        assert scoring.overlap_helps(cpu)
        with_helper = hamming_kernel(build(5), batch)
        scoring.allow_kernel_helper(False)
        assert not scoring.overlap_helps(cpu)
        without = hamming_kernel(build(5), batch)
    finally:
        scoring.allow_kernel_helper(True)
        torch.set_num_threads(threads)
    assert np.array_equal(with_helper, without)


def test_binary_codes_equal_the_comparison_on_every_kind_of_float():
    """The int32-bits path of binary_codes is x > 0 for zeros of both signs,
    subnormals and the extremes; with an infinity or a NaN (a sum that is not
    finite) it takes the comparison, which is x > 0 by definition."""
    from naswot_tui.core.scoring import binary_codes

    torch.manual_seed(6)
    x = torch.randn(8, 300)
    x[:, :10] = torch.tensor([0.0, -0.0, 1e-45, -1e-45, 1.2e-38, -1.2e-38, 1.0, -1.0, 3e30, -3e30])
    codes = binary_codes(x)
    assert codes.dtype == torch.int8           # the bits path
    assert torch.equal(codes.bool(), x > 0)
    for special in (float("inf"), float("-inf"), float("nan"), -float("nan")):
        y = x.clone()
        y[3, 40] = special
        assert torch.equal(binary_codes(y).bool(), y > 0)
