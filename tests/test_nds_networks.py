"""NDS network builders: forward passes, published params/FLOPs, hook set and score (issue 7)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from authors_reference import authors_score
from naswot_tui.core.flops import flops
from naswot_tui.core.scoring import count_params, hooked_modules, score_network
from naswot_tui.core.spaces import get_space
from naswot_tui.core.spaces.nds import build_nds_network
from naswot_tui.core.spaces.nds_ops import OPS, ReLUConvBN
from nds_fixtures import ANYNET_NETS, CELL_NETS, SHARED_DATA, transcribed_records, write_nds

ALL_NETS = {**CELL_NETS, **ANYNET_NETS}
needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"shared test data not found at {SHARED_DATA}")


def _batch(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((n, 3, size, size)).astype(np.float32))


def authors_procedure(model: nn.Module, x: torch.Tensor) -> float:
    """The authors' scoring, written plainly (tests/authors_reference.py)."""
    return authors_score(model, x, "reference")


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("stride", [1, 2])
def test_every_cell_op_runs(name, stride):
    op = OPS[name](6, stride)
    out = op(torch.randn(2, 6, 8, 8))
    expected = 8 if stride == 1 else 4
    # 2x2 pools have no padding: at stride 1 they shrink the map by one, as in pycls.
    if name.endswith("_2x2") and stride == 1:
        expected = 7
    assert out.shape == (2, 6, expected, expected)


@pytest.mark.parametrize("sweep", list(ALL_NETS))
def test_every_family_builds_scores_and_matches_authors(tmp_path, sweep):
    """Through the space: load, build entry 0, forward 8 images, score == the authors' procedure."""
    path = write_nds(tmp_path / f"{sweep}.json", ALL_NETS[sweep])
    space = get_space("nds-" + sweep.lower(), str(path))
    torch.manual_seed(0)
    model = space.build(space.arch(0))
    x = _batch(8)
    assert model(x).shape == (8, 1)
    ours = score_network(model, x, "reference")
    theirs = authors_procedure(model, x)
    assert np.isfinite(ours)
    assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("sweep,imagenet_space", [("DARTS", "nds-darts-in"), ("ResNeXt-A", "nds-resnext-a-in"),
                                                   ("Vanilla", "nds-vanilla-lr-wd-in")])
def test_imagenet_macro_structures(tmp_path, sweep, imagenet_space):
    net = dict(ALL_NETS[sweep][0])
    if "genotype" in net:
        net["depth"] = 2  # keep it cheap at 224 x 224
    path = write_nds(tmp_path / "x_in.json", [net])
    space = get_space(imagenet_space, str(path))
    assert space.image_size == 224
    model = space.build(space.arch(0), num_classes=1000)
    assert model(_batch(2, 224)).shape == (2, 1000)


def test_cell_hook_set_matches_reference_naming():
    """Hooked = every nn.ReLU plus the ReLUConvBN pre-processing ops, nothing else."""
    model = build_nds_network(CELL_NETS["DARTS"][0])
    hooked = hooked_modules(model, "reference")
    assert {type(m) for m in hooked} == {nn.ReLU, ReLUConvBN}
    n_cells = CELL_NETS["DARTS"][0]["depth"]
    n_relu_conv_bn = sum(isinstance(m, ReLUConvBN) for m in hooked)
    # preprocess1 in every cell, preprocess0 except after a reduction cell (FactorizedReduce there)
    assert n_relu_conv_bn == 2 * n_cells - 2
    for name, m in model.named_modules():
        if isinstance(m, ReLUConvBN):
            assert name.endswith(("preprocess0", "preprocess1"))


@needs_shared
@pytest.mark.parametrize("family", ["ResNeXt-A", "ResNet", "Vanilla", "Amoeba"])
def test_params_and_flops_equal_published(family):
    rec = transcribed_records()[family]
    model = build_nds_network(rec["net"], num_classes=10)
    assert count_params(model) == rec["params"]
    if family != "Amoeba":  # the FLOPs convention of cell networks is unknown (docs/formats.md §2.7)
        assert flops(model, (3, 32, 32)) == rec["flops"]


def test_flops_counter_convention():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=2, bias=False),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    expected = 9 * 3 * 4 * 8 * 8 + 5 * 4 * 8 * 8 + 9 * 4 * 4 * 4 * 4 // 2 + 4 * 10 + 10
    assert flops(model, (3, 8, 8)) == expected
    assert model.training  # mode restored


def test_authors_anynet_reading_breaks_on_bottleneck_stem():
    """Why we do not follow the reference for AnyNet: its element-0 stage has bot_mul 0.0,
    so its grouped conv gets w_b = 0 and groups = 0, which PyTorch refuses."""
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(0, 0, 3, padding=1, groups=0 // 1, bias=False)


def test_build_errors_propagate():
    """Builders raise (never swallow) so the engine can record the error against the network;
    the same holds for out-of-memory errors during the forward pass."""
    bad = {"block_type": "res_bottleneck_block", "ds": [1, 1], "ws": [8, 6], "ss": [1, 1],
           "bot_muls": [0.0, 1.0], "num_gs": [1, 4]}  # 6 channels in 4 groups
    with pytest.raises(ValueError):
        build_nds_network(bad)


def test_imagenet_cell_network_score_matches_authors():
    """The ImageNet stem's in-place ReLU rectifies s0; the hooks must still agree."""
    net = dict(CELL_NETS["Amoeba"][0], depth=3)
    torch.manual_seed(1)
    model = build_nds_network(net, imagenet=True)
    x = _batch(8, 64)
    assert score_network(model, x) == pytest.approx(authors_procedure(model, x), rel=1e-12, abs=1e-9)
