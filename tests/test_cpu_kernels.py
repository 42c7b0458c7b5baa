"""The compiled CPU kernels (core.cpu_kernels, via core.accel), each against
the PyTorch path it replaces, bit for bit:

* core.batchnorm against the real ``nn.BatchNorm2d`` (PyTorch's CPU kernel);
* scoring.sign_gram against the 0/1 codes and their int8 Gram product.

The kernels run only where numba is installed (the ``fast`` extra, which
.ci/run installs); the fallbacks are tested with ``accel.enable(False)``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from naswot_tui.core import accel, batchnorm, scoring
from naswot_tui.core.spaces import get_space

needs_numba = pytest.mark.skipif(accel.kernels() is None, reason="numba not installed (pip install -e '.[fast]')")


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test starts with the kernel on and no shape verified yet."""
    accel.enable(True)
    batchnorm._EXACT.clear()
    yield
    accel.enable(True)
    batchnorm._EXACT.clear()


def _activation(shape: tuple[int, ...], seed: int, scale: float, shift: float, relu: bool) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    channels = shape[1]
    x = torch.randn(shape, generator=g) * scale + torch.randn(channels, generator=g).view(1, channels, 1, 1) * shift
    return F.relu(x) if relu else x


def _module(channels: int, seed: int, **kwargs: object) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(channels, **kwargs)  # type: ignore[arg-type]
    if bn.weight is not None:
        g = torch.Generator().manual_seed(1000 + seed)
        with torch.no_grad():
            bn.weight.copy_(torch.rand(channels, generator=g) + 0.5)
            bn.bias.copy_(torch.randn(channels, generator=g))
    return bn


def _fast(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor | None:
    """The fast path's output after its one-time check of this shape."""
    with torch.inference_mode():
        batchnorm.batch_norm(bn, x)          # first sight of the shape: checked against PyTorch
        return batchnorm.batch_norm(bn, x)


# NB201's three stages, a channel count that is not a multiple of 8, a tiny odd one, RGB
SHAPES = [(128, 16, 32, 32), (128, 32, 16, 16), (128, 64, 8, 8), (16, 12, 9, 7), (5, 3, 3, 3), (4, 21, 2, 5)]


@needs_numba
@pytest.mark.parametrize("shape", SHAPES)
def test_equals_the_module_bit_for_bit(shape: tuple[int, ...]) -> None:
    for seed, (scale, shift, relu) in enumerate([(1.0, 0.0, False), (1e-3, 1.0, False), (1e3, 3.0, True),
                                                 (1e-20, 0.0, True), (7.0, 1e4, False)]):
        x = _activation(shape, seed, scale, shift, relu)
        bn = _module(shape[1], seed)
        with torch.inference_mode():
            expected = bn(x)
        out = _fast(bn, x)
        assert out is not None, "the kernel did not run on a covered case"
        assert torch.equal(out, expected), f"{shape} seed {seed}: {(out != expected).sum().item()} values differ"


@needs_numba
@pytest.mark.parametrize("kwargs", [{"affine": False}, {"track_running_stats": False}, {"eps": 0.1},
                                    {"momentum": None}])
def test_module_variants(kwargs: dict[str, object]) -> None:
    x = _activation((32, 10, 6, 6), 3, 2.0, 0.5, False)
    bn = _module(10, 3, **kwargs)
    with torch.inference_mode():
        expected = bn(x)
    out = _fast(bn, x)
    assert out is not None and torch.equal(out, expected)


@needs_numba
def test_constant_and_zero_channels() -> None:
    x = _activation((8, 9, 4, 4), 5, 1.0, 0.0, False)
    x[:, 4] = 2.5                       # variance exactly 0: the scale is 1 / sqrt(eps)
    x[:, 8] = 0.0                       # a dead channel (ReLU of negatives)
    bn = _module(9, 5)
    with torch.inference_mode():
        expected = bn(x)
    out = _fast(bn, x)
    assert out is not None and torch.equal(out, expected)


def test_cases_it_does_not_cover_return_none() -> None:
    bn = _module(6, 0)
    x = _activation((8, 6, 5, 5), 0, 1.0, 0.0, False)
    with torch.inference_mode():
        assert batchnorm.batch_norm(bn.eval(), x) is None                        # running statistics
        bn.train()
        assert batchnorm.batch_norm(bn, x.double()) is None                       # float64
        assert batchnorm.batch_norm(bn, x.transpose(2, 3)) is None                # not contiguous
        assert batchnorm.batch_norm(bn, x.contiguous(memory_format=torch.channels_last)) is None
        # 1x1 images are channels-last contiguous as well: PyTorch takes its channels-last kernel
        assert batchnorm.batch_norm(bn, _activation((8, 6, 1, 1), 0, 1.0, 0.0, False)) is None
        assert batchnorm.batch_norm(_module(6, 0), x[:1, :, :1, :1].contiguous()) is None  # one value per channel
        assert batchnorm.batch_norm(_module(6, 0, eps=0.0), x) is None                    # the module refuses eps 0
    assert batchnorm.batch_norm(bn, x) is None                                    # gradients wanted
    accel.enable(False)
    with torch.inference_mode():
        assert batchnorm.batch_norm(bn, x) is None


@needs_numba
def test_a_shape_that_differs_from_pytorch_falls_back_for_good(monkeypatch: pytest.MonkeyPatch) -> None:
    """If a PyTorch release changed its loop, the one-time check catches it:
    the shape then runs on the module, and its first output is the module's."""
    real = batchnorm._compiled()
    assert real is not None

    def slightly_off(x: np.ndarray, mean: np.ndarray, var_sum: np.ndarray) -> None:
        real(x, mean, var_sum)
        var_sum[0] *= np.float32(1.0001)     # as a different summation order would

    monkeypatch.setattr(batchnorm, "_compiled", lambda: slightly_off)
    x = _activation((16, 8, 4, 4), 2, 1.0, 1.0, False)
    bn = _module(8, 2)
    with torch.inference_mode():
        expected = bn(x)
        first = batchnorm.batch_norm(bn, x)
        assert first is not None and torch.equal(first, expected)
        assert batchnorm._EXACT[tuple(x.shape)] is False
        assert batchnorm.batch_norm(bn, x) is None


@needs_numba
def test_nb201_kernels_are_unchanged_by_it() -> None:
    """Whole NB201 networks (all three stages, the stem, both reduction blocks):
    the kernel K with the fast BatchNorm equals K with PyTorch's."""
    space = get_space("nb201")
    batch = torch.randn(24, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    for index in (0, 3_219, 15_624):
        torch.manual_seed(index)
        net = space.build(space.arch(index), num_classes=10)
        accel.enable(False)
        reference = scoring.hamming_kernel(net, batch)
        accel.enable(True)
        fast = scoring.hamming_kernel(net, batch)
        assert np.array_equal(fast, reference), index
    assert batchnorm._EXACT and all(batchnorm._EXACT.values()), "the fast kernel did not run on every shape"


def _codes_gram(flat: torch.Tensor) -> np.ndarray:
    """The plain definition: 0/1 codes ``flat > 0`` and their product (float64: exact at these sizes)."""
    codes = (flat > 0).to(torch.float64)
    return (codes @ codes.T).numpy().astype(np.int64)


@needs_numba
@pytest.mark.parametrize("length", [1, 63, 64, 65, 1000, 16384])
def test_sign_gram_equals_the_codes_product(length: int) -> None:
    g = torch.Generator().manual_seed(length)
    flat = torch.randn(40, length, generator=g)
    flat[flat.abs() < 0.3] = 0.0
    specials = torch.tensor([float("nan"), -float("nan"), float("inf"), -float("inf"), -0.0, 0.0,
                             1e-45, -1e-45, 3.4e38, -3.4e38])
    spots = torch.randint(0, flat.numel(), (min(flat.numel(), 200),), generator=g)
    flat.view(-1)[spots] = specials[torch.arange(len(spots)) % len(specials)]
    gram = scoring.sign_gram(flat)
    assert gram is not None and gram.dtype == torch.int64
    assert np.array_equal(gram.numpy(), _codes_gram(flat))


def test_sign_gram_declines_what_it_does_not_cover() -> None:
    flat = torch.randn(8, 100)
    assert scoring.sign_gram(flat.double()) is None
    assert scoring.sign_gram(flat.T) is None                 # not contiguous
    assert scoring.sign_gram(flat.view(8, 10, 10)) is None   # not a matrix
    accel.enable(False)
    assert scoring.sign_gram(flat) is None


@pytest.mark.parametrize("units", [1, 2, 9, 300])
def test_the_pytorch_gram_path_is_exact_at_any_width(units: int) -> None:
    """The path without numba (codes, then an int8 GEMM where it is exact): one
    unit per image included, where torch's CPU int8 GEMM gives wrong sums."""
    accel.enable(False)
    flat = torch.randn(16, units, generator=torch.Generator().manual_seed(units))
    acc = scoring._KernelAccumulator(16, torch.device("cpu"))
    assert np.array_equal(acc._codes_gram(flat).to(torch.int64).numpy(), _codes_gram(flat))
