"""Cheap proxies: NB201 params/FLOPs from the cell's op counts equal the built network's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from naswot_tui.core.config import RunConfig
from naswot_tui.core.engine import Run
from naswot_tui.core.flops import flops
from naswot_tui.core.scoring import count_params, get_proxy
from naswot_tui.core.spaces import get_space
from naswot_tui.core.spaces.nb201 import NB201Space
from naswot_tui.core.trace import read_trace


def _built_costs(space, arch, num_classes, input_size):
    with torch.device("meta"):
        model = space.build(arch, num_classes=num_classes)
    return count_params(model), flops(model, input_size, convention="nb201")


# What the params/flops proxies score (1 class, CIFAR) on many cells; the benchmark's heads on a few.
@pytest.mark.parametrize("num_classes, input_size, n_cells",
                         [(1, (3, 32, 32), 40), (10, (3, 32, 32), 8), (120, (3, 16, 16), 8)])
def test_nb201_known_costs_equal_the_built_network(num_classes, input_size, n_cells):
    space = get_space("nb201")
    rng = np.random.default_rng(7)
    # random cells plus the extremes (every edge the same op)
    indices = [int(i) for i in rng.integers(space.size, size=n_cells)]
    extremes = [space.index(f"|{op}~0|+|{op}~0|{op}~1|+|{op}~0|{op}~1|{op}~2|")
                for op in ("none", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_1x1")]
    for index in indices + extremes:
        arch = space.arch(index)
        built = _built_costs(space, arch, num_classes, input_size)
        assert space.known_costs(arch, num_classes, input_size) == built, arch


def test_nats_tss_is_the_same_space_and_knows_its_costs():
    space = get_space("nats-tss")
    arch = space.arch(1234)
    assert space.known_costs(arch) == _built_costs(space, arch, 1, (3, 32, 32))


def test_spaces_that_cannot_say_return_none():
    assert get_space("nats-sss").known_costs(get_space("nats-sss").arch(0)) is None


class CountingNB201(NB201Space):
    """NB201 that counts its network builds (the cheap path must make none)."""

    builds = 0

    def build(self, arch, num_classes=1):
        CountingNB201.builds += 1
        return super().build(arch, num_classes)


@pytest.mark.parametrize("proxy", ["params", "flops"])
def test_cost_proxies_score_without_building(tmp_path, proxy):
    from naswot_tui.core.spaces import SpaceInfo, register

    register(SpaceInfo("test-counting", "test only", f"{__name__}:CountingNB201"))
    CountingNB201.builds = 0
    run = Run(RunConfig(space="test-counting", n=25, batch_size=8, seed=2, proxy=proxy, out_dir=str(tmp_path),
                        cache=False))
    list(run.events())
    built_by_the_run = CountingNB201.builds
    trace = read_trace(run.trace_path)
    assert trace.status == "completed" and len(trace.scores) == 25
    # The space's own reference networks (once per input shape) are the only builds.
    assert built_by_the_run <= 1 + len(NB201Space.ops)
    fn = get_proxy(proxy).fn
    batch = torch.zeros(2, 3, 32, 32)
    space = get_space("nb201")
    for s in trace.scores[:6]:
        # the score the slow path (build, then count) gives
        model = space.build(s.arch, num_classes=1)
        assert s.score == fn(model, batch)


def test_standard_coefficients_equal_a_fresh_measurement():
    """The stored per-op costs (scoring head and the three datasets' heads) are what building gives."""
    from naswot_tui.core.spaces.nb201 import _STANDARD_COEFFICIENTS

    space = get_space("nb201")
    for (classes, size), stored in _STANDARD_COEFFICIENTS.items():
        assert space._measured_coefficients(classes, size) == stored, (classes, size)
