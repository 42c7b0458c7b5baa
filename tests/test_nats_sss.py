"""NATS-Bench size space: index order, strings, mutation, network vs the real fixture."""

from __future__ import annotations

import bz2
import contextlib
import io
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from naswot_tui.core.errors import UsageError
from naswot_tui.core.scoring import count_params, hooked_modules, score_network
from naswot_tui.core.spaces import get_space
from naswot_tui.core.spaces.nats_sss import format_channels, parse_channels

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SSS_DIR = SHARED / "nats_fake_torch_dir" / "NATS-sss-v1_0-50262-simple"
FIXTURE = (0, 11, 284)
META_MD5 = "83c9abd3eb942d7de4217b72afaf4824"  # PROVENANCE.md checksum of the known meta file

needs_fixture = pytest.mark.skipif(not SSS_DIR.is_dir(), reason=f"NATS sss fixture not found at {SSS_DIR}")


@pytest.fixture(scope="module")
def space():
    return get_space("nats-sss")


@pytest.fixture(scope="module")
def api():
    if not SSS_DIR.is_dir():
        pytest.skip(f"NATS sss fixture not found at {SSS_DIR}")
    import nats_bench

    with contextlib.redirect_stdout(io.StringIO()):
        return nats_bench.create(str(SSS_DIR), "sss", fast_mode=True, verbose=False)


@needs_fixture
def test_index_order_equals_fixture_meta_archs(space):
    import hashlib

    raw = (SSS_DIR / "meta.pickle.pbz2").read_bytes()
    assert hashlib.md5(raw).hexdigest() == META_MD5  # only unpickle the known file
    meta = pickle.loads(bz2.decompress(raw))
    archs = meta["meta_archs"]
    assert space.size == len(archs) == 32768
    assert [space.arch(i) for i in range(space.size)] == archs
    for i in (0, 11, 284, 4095, 32767):
        assert space.index(archs[i]) == i


def test_aliases_and_round_trip(space):
    assert get_space("sss").name == "nats-sss"
    assert space.arch(0) == "8:8:8:8:8" and space.arch(32767) == "64:64:64:64:64"
    assert parse_channels(format_channels((8, 16, 24, 32, 64))) == (8, 16, 24, 32, 64)


@pytest.mark.parametrize("bad, fragment", [
    ("", "empty"),
    ("8:8:8:8", "expected 5 widths"),
    ("8:8:8:8:8:8", "expected 5 widths"),
    ("8:8:8:8:12", "width 12 of layer 4"),
    ("8:8:x:8:8", "not a plain integer"),
    ("8:8:08:8:8", "not a plain integer"),
    ("8:8: 8:8:8", "not a plain integer"),
    ("8:8:72:8:8", "width 72 of layer 2"),
])
def test_malformed_strings(space, bad, fragment):
    with pytest.raises(UsageError, match=fragment):
        space.index(bad)


def test_index_out_of_range(space):
    with pytest.raises(UsageError, match="out of range"):
        space.arch(32768)


def test_mutation_changes_exactly_one_width(space):
    rng = np.random.default_rng(3)
    for _ in range(300):
        i = space.sample(rng)
        j = space.mutate(i, rng)
        a, b = parse_channels(space.arch(i)), parse_channels(space.arch(j))
        assert sum(x != y for x, y in zip(a, b, strict=True)) == 1


def _flops_m(model: nn.Module) -> float:
    """Multiply-accumulates of convs and linears (with bias) at 32x32, in M:
    how the benchmark counted FLOPs (pooling and BN are not counted)."""
    total = [0]

    def conv(m, i, o):
        kernel = m.kernel_size[0] * m.kernel_size[1]
        total[0] += kernel * m.in_channels * m.out_channels // m.groups * o.shape[2] * o.shape[3]

    def linear(m, i, o):
        total[0] += m.in_features * m.out_features + (m.out_features if m.bias is not None else 0)

    hs = [m.register_forward_hook(conv) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hs += [m.register_forward_hook(linear) for m in model.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    for h in hs:
        h.remove()
    return total[0] / 1e6


@pytest.mark.parametrize("index", FIXTURE)
def test_params_and_flops_equal_benchmark(space, api, index):
    with contextlib.redirect_stdout(io.StringIO()):
        cost = api.get_cost_info(index, "cifar10-valid", hp="90")
        arch = api.meta_archs[index]
    assert space.arch(index) == arch
    model = space.build(arch, num_classes=10)
    assert count_params(model) == round(float(cost["params"]) * 1e6)
    assert _flops_m(model) == pytest.approx(float(cost["flops"]), abs=1e-6)
    # CIFAR-100 head: 100 outputs
    with contextlib.redirect_stdout(io.StringIO()):
        cost100 = api.get_cost_info(index, "cifar100", hp="90")
    assert count_params(space.build(arch, num_classes=100)) == round(float(cost100["params"]) * 1e6)


def test_accuracies_through_our_loader_equal_nats_bench(api):
    from naswot_tui.core.benchmarks import ground_truth_for

    truth = ground_truth_for("nats-sss", str(SSS_DIR))
    keys = {("cifar10", "test"): ("cifar10", "test-accuracy"),
            ("cifar10", "valid"): ("cifar10-valid", "valid-accuracy"),
            ("cifar100", "test"): ("cifar100", "test-accuracy"),
            ("ImageNet16-120", "valid"): ("ImageNet16-120", "valid-accuracy")}
    for index in FIXTURE:
        for (ds, split), (api_ds, field) in keys.items():
            with contextlib.redirect_stdout(io.StringIO()):
                expected = api.get_more_info(index, api_ds, hp="90", is_random=False)[field]
            assert truth.accuracy(index, ds, split) == pytest.approx(expected, abs=0)
        assert truth.params(index) == pytest.approx(float(api.get_cost_info(index, "cifar10-valid", hp="90")["params"]))
    assert truth.accuracy(1, "cifar10", "test") is None  # not in the cut-down fixture


def test_hooks_follow_reference_rule(space):
    model = space.build("8:16:24:32:40")
    names = {type(m).__name__ for m in hooked_modules(model, "reference")}
    assert names == {"ReLU", "ReLUConvBN"}


@pytest.mark.parametrize("arch", ["8:8:8:8:8", "16:40:8:64:24"])
def test_score_equals_authors_procedure(space, arch):
    from authors_reference import authors_score

    torch.manual_seed(0)
    batch = torch.randn(12, 3, 32, 32)
    torch.manual_seed(1)
    model = space.build(arch)
    ours = score_network(model, batch, "reference")
    assert ours == authors_score(model, batch, "reference")
    assert np.isfinite(ours)
