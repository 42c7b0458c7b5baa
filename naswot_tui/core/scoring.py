"""The NASWOT score (docs/method.md §1-2) and the proxies that share its interface.

    score = log |det K|,   K[i, j] = sum over hooked units of [c_i == c_j]

where ``c = (input > 0)`` is the binary activation code of each image at each
hooked module. We run a single forward pass (the authors' backward pass only
arms their hooks) and accumulate K on the device with one Gram product per
*distinct* hooked tensor: ``G = C C^T`` of the 0/1 codes (int8 GEMM with
int32 sums where available) gives ``K_l = 2 G + n_l - d_i - d_j`` with
``d = diag(G)``. All entries are integers, so K equals the authors' numpy
float64 accumulation bit for bit, and so does ``slogdet`` of it.

NB201-family networks run through ``core.fastpath``, an executor that
computes only what the codes depend on (dead subgraphs are added to K
analytically); tests/test_scoring_fast.py proves the kernel unchanged.
"""

from __future__ import annotations

import math
import os
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from naswot_tui.core import accel
from naswot_tui.core.errors import UsageError

if TYPE_CHECKING:
    from naswot_tui.core.spaces.base import SearchSpace

HOOK_RULES = ("reference", "relu")

# "relu" rule: activation modules only, each unit once (the paper's equation).
_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU)


def hooked_modules(model: nn.Module, hook_rule: str = "reference") -> list[nn.Module]:
    """The modules whose inputs enter the kernel under ``hook_rule``.

    ``reference``: every module whose class name contains ``ReLU`` (the
    authors' rule; it counts ``ReLUConvBN`` and its inner ``ReLU`` twice).
    """
    if hook_rule == "reference":
        return [m for m in model.modules() if "ReLU" in type(m).__name__]
    if hook_rule == "relu":
        return [m for m in model.modules() if isinstance(m, _ACTIVATIONS)]
    raise UsageError(f"unknown hook rule {hook_rule!r}; choose one of: {', '.join(HOOK_RULES)}")


class _KernelAccumulator:
    """Builds K on the device from binary codes, exactly.

    Per distinct hooked tensor we take the 0/1 code matrix ``C`` (bool or
    int8, one byte per unit: no float copy; ``binary_codes``) and one Gram product
    ``G = C C^T`` (int8 x int8 -> int32 where the backend has it, exact).
    Agreements follow from ``G`` alone: ``K_l = 2 G + n_l - d_i - d_j`` with
    ``d = diag(G)`` (the number of ones per image). Everything is linear, so
    we sum ``A = sum_l m_l G_l`` and ``N = sum_l m_l n_l`` and form K once:
    ``K = 2 A + N - diag(A)_i - diag(A)_j``; every entry is an integer below
    2^53, hence bit-identical to the authors' float64 numpy sum.

    A tensor read by several hooked modules (a ``ReLUConvBN`` and its inner
    ReLU; several edges leaving one node) is multiplied once and weighted by
    how often it was seen. Entries hold a *weak* reference: when the tensor
    dies its entry is retired at once, so its ``id`` can never be mistaken
    for a new tensor and no activation lives longer than the network needs it.
    An input known to be all zeros (a dead subgraph) adds ``n_l`` to every
    entry of K without any tensor at all (``add_zeros``).
    """

    def __init__(self, batch_size: int, device: torch.device, overlap: bool = False,
                 observer: Callable[[torch.Tensor | None, int], None] | None = None) -> None:
        self.batch_size = batch_size
        # observer(x, units) sees each distinct hooked tensor once (x None: an all-zero input),
        # so other proxies (SWAP) can read the same codes without a second forward pass.
        self._observer = observer
        self.device = torch.device(device)
        # overlap: codes and Gram products run on a helper thread while the
        # forward pass goes on (CPU, spare cores only; the caller guarantees no
        # in-place write to a reported tensor before ``drain``/``finish``).
        self._worker = _helper_thread() if overlap else None
        self.agree = torch.zeros(batch_size, batch_size, dtype=torch.float64, device=self.device)  # A
        self.units = 0  # N, a Python int: no device work for constant terms
        self._live: dict[int, list[Any]] = {}  # id -> [weakref, multiplicity, gram, units]
        self._retired: list[list[Any]] = []
        self._int8 = _int8_gram_ok(self.device, batch_size)

    # -- hook interface: forward pre-hook on each hooked module
    def __call__(self, module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        self.add(args[0])

    def add(self, x: torch.Tensor, count: int = 1) -> None:
        key = id(x)
        entry = self._live.get(key)
        if entry is not None and entry[0]() is x:
            entry[1] += count
            return
        units = math.prod(x.shape[1:])
        if self._observer is not None:
            self._observer(x, units)
        gram = (self._worker.submit(self._codes_gram, x.detach()) if self._worker is not None
                else self._codes_gram(x))
        fresh: list[Any] = [None, count, gram, units]

        def retire(_ref: weakref.ref[torch.Tensor]) -> None:  # x died: its id may be reused
            self._retire(key)

        fresh[0] = weakref.ref(x, retire)
        self._live[key] = fresh

    def add_zeros(self, units: int, count: int = 1) -> None:
        """A hooked input that is all zeros: code 0 everywhere, every pair agrees."""
        self.units += int(units) * int(count)
        if self._observer is not None:
            self._observer(None, int(units))

    def _codes_gram(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.detach().reshape(x.shape[0], -1)
        packed = sign_gram(flat)
        if packed is not None:
            return packed
        # Never autocast the product: K must stay exact even when --amp runs the forward in bf16/fp16.
        with torch.autocast(device_type=x.device.type, enabled=False):
            return self._gram(binary_codes(flat))

    def drain(self) -> None:
        """Wait for pending products (before anything writes in place)."""
        for entry in list(self._live.values()) + self._retired:
            if isinstance(entry[2], Future):
                entry[2] = entry[2].result()

    def _gram(self, codes: torch.Tensor) -> torch.Tensor:
        # One unit per image: torch 2.13's CPU int8 GEMM returns wrong sums for an inner size of 1.
        if self._int8 and codes.shape[1] > 1:
            a = codes if codes.dtype == torch.int8 else codes.view(torch.int8)
            try:
                return torch._int_mm(a, a.T)
            except RuntimeError:  # a backend/shape without int8 GEMM: float32 is exact too
                self._int8 = False
        # 0/1 inputs, integer sums < 2^24: exact in float32 (and in TF32).
        a = codes.to(torch.float32)
        return a @ a.T

    def _retire(self, key: int) -> None:
        entry = self._live.pop(key, None)
        if entry is not None:
            self._retired.append(entry)

    def finish(self) -> torch.Tensor:
        entries = self._retired + list(self._live.values())
        self._live, self._retired = {}, []
        agree = self.agree
        units = self.units
        for _, multiplicity, gram, n in entries:
            if isinstance(gram, Future):
                gram = gram.result()
            agree.add_(gram.to(torch.float64), alpha=multiplicity)
            units += multiplicity * n
        diag = torch.diagonal(agree)
        return 2.0 * agree + float(units) - diag[:, None] - diag[None, :]


def sign_gram(flat: torch.Tensor) -> torch.Tensor | None:
    """``G = C C^T`` of ``C = (flat > 0)`` (int64), from the codes packed 64 to a
    word and counted with popcount (``core.cpu_kernels``): on CPU float32 about
    6x faster than the codes plus an int8 GEMM, and integer, so equal to it.
    None where it does not apply (GPU, other dtypes, numba not installed)."""
    if flat.device.type != "cpu" or flat.dtype != torch.float32 or flat.dim() != 2 or not flat.is_contiguous():
        return None
    module = accel.kernels()
    if module is None:
        return None
    out = np.empty((flat.shape[0], flat.shape[0]), np.int64)
    module.sign_gram(flat.numpy(), out)
    return torch.from_numpy(out)


def binary_codes(flat: torch.Tensor) -> torch.Tensor:
    """``flat > 0`` as 0/1 (bool or int8), exactly.

    On CPU float32 the comparison with a bool result is a slow kernel (about
    1 ms for a 128 x 16384 activation, twice the rest of the code path), so
    there we read the floats' bits as int32 and clamp them to [0, 1]: a float
    is > 0 exactly when its bits, as a signed integer, are > 0 (+0 is 0; -0
    and every negative number have the sign bit set). The one exception is
    a NaN with the sign bit clear, so we take this path only when the sum is
    finite (no NaN anywhere; a cheap vectorised reduction).
    """
    if (flat.device.type == "cpu" and flat.dtype == torch.float32 and flat.is_contiguous()
            and math.isfinite(float(flat.sum()))):
        return flat.view(torch.int32).clamp(0, 1).to(torch.int8)
    return flat > 0


_HELPER: ThreadPoolExecutor | None = None


def _helper_thread() -> ThreadPoolExecutor:
    global _HELPER
    if _HELPER is None:
        _HELPER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="naswot-kernel")
    return _HELPER


_HELPER_ALLOWED = True


def allow_kernel_helper(allowed: bool) -> None:
    """Let this process use a helper thread for K (default) or not.

    A worker process of a pool that already fills the cores turns it off:
    there the helper's core is another worker's, and handing products to a
    thread only adds work (about 5% more CPU per architecture, measured).
    """
    global _HELPER_ALLOWED
    _HELPER_ALLOWED = bool(allowed)


def overlap_helps(device: torch.device) -> bool:
    """A helper thread for K pays off on CPU when torch leaves a core idle."""
    return _HELPER_ALLOWED and device.type == "cpu" and torch.get_num_threads() < (os.cpu_count() or 1)


def _int8_gram_ok(device: torch.device, batch_size: int) -> bool:
    """int8 GEMM (exact int32 sums) on CPU; on CUDA only where cuBLASLt takes the shape."""
    if not hasattr(torch, "_int_mm"):
        return False
    if device.type == "cpu":
        return True
    return device.type == "cuda" and batch_size > 16 and batch_size % 8 == 0


def hamming_kernel(model: nn.Module, batch: torch.Tensor, hook_rule: str = "reference",
                   observer: Callable[[torch.Tensor | None, int], None] | None = None) -> np.ndarray:
    """K as a float64 numpy array (one host copy).

    ``observer(x, units)``, when given, sees every distinct hooked tensor once
    (``x`` None for an input known to be all zeros); it never changes K.

    NB201-family networks (``TinyNetwork``) run through an exact executor
    that skips provably-zero subgraphs and the classifier head
    (``core.fastpath``); any other network runs its own forward with hooks.
    """
    from naswot_tui.core import fastpath

    model.train()  # BatchNorm with batch statistics, as the authors scored
    if fastpath.supports(model):
        acc = _KernelAccumulator(batch.shape[0], batch.device, overlap=overlap_helps(batch.device), observer=observer)
        with torch.inference_mode():
            fastpath.run(model, batch, acc, hooked_modules(model, hook_rule))
            kernel = acc.finish()
        return kernel.cpu().numpy()
    acc = _KernelAccumulator(batch.shape[0], batch.device, observer=observer)
    modules = hooked_modules(model, hook_rule)
    handles = [m.register_forward_pre_hook(acc) for m in modules]
    try:
        with torch.inference_mode():
            model(batch)
            kernel = acc.finish()
    finally:
        for h in handles:
            h.remove()
    return kernel.cpu().numpy()


def logdet(kernel: np.ndarray) -> float:
    """log |det K| in float64; ``-inf`` for a singular K (a valid score)."""
    _, value = np.linalg.slogdet(kernel)
    return float(value)


def score_network(model: nn.Module, batch: torch.Tensor, hook_rule: str = "reference") -> float:
    """The NASWOT score of an untrained ``model`` on ``batch`` (may be ``-inf``)."""
    return logdet(hamming_kernel(model, batch, hook_rule))


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------- proxies


@dataclass(frozen=True)
class Proxy:
    """A training-free score: higher is better. ``fn(model, batch) -> float``."""

    name: str
    description: str
    fn: Callable[[nn.Module, torch.Tensor], float]
    uses_batch: bool = True
    #: which of ``SearchSpace.known_costs`` (0 params, 1 FLOPs) equals this proxy,
    #: so a space that knows its costs is scored without building networks
    known_cost: int | None = None


PROXIES: dict[str, Proxy] = {
    "naswot": Proxy("naswot", "NASWOT log|K|, reference hook rule",
                    lambda m, b: score_network(m, b, "reference")),
    "naswot-relu": Proxy("naswot-relu", "NASWOT log|K|, activation modules only",
                         lambda m, b: score_network(m, b, "relu")),
    "params": Proxy("params", "number of parameters", lambda m, b: float(count_params(m)), uses_batch=False,
                    known_cost=0),
    # Only the batch's image shape is used; NB201/NATS convention (conv + linear).
    "flops": Proxy("flops", "FLOPs of one image (NAS-Bench-201 convention)",
                   lambda m, b: float(_flops(m, tuple(b.shape[1:]), convention="nb201")), uses_batch=False,
                   known_cost=1),
}


def _flops(model: nn.Module, input_size: tuple[int, ...], convention: str) -> int:
    from naswot_tui.core.flops import flops  # lazy: keeps this module's imports as they were

    return flops(model, input_size, convention=convention)


def score_from_costs(proxy: Proxy, space: SearchSpace, arch: str,
                     input_size: tuple[int, ...]) -> tuple[float, int] | None:
    """``(score, params)`` of a cost proxy (params / FLOPs) when the space knows the
    costs of ``build(arch, num_classes=1)`` (what the evaluator scores); else None."""
    if proxy.known_cost is None:
        return None
    channels, height, width = (int(x) for x in input_size)
    costs = space.known_costs(arch, 1, (channels, height, width))
    if costs is None:
        return None
    return float(costs[proxy.known_cost]), costs[0]


def get_proxy(name: str, hook_rule: str = "reference") -> Proxy:
    """``naswot`` follows the run's hook rule; other names are looked up."""
    if name == "naswot":
        return PROXIES["naswot-relu" if hook_rule == "relu" else "naswot"]
    try:
        return PROXIES[name]
    except KeyError:
        raise UsageError(f"unknown proxy {name!r}; choose one of: {', '.join(PROXIES)}") from None


def init_seed(run_seed: int, index: int) -> int:
    """Deterministic initialisation seed of architecture ``index`` in a run.

    Derived from (run seed, index) with numpy's SeedSequence, so the same
    architecture gets the same weights, hence the same score, wherever it is
    drawn in a run and in every repeat; this is what makes scores cacheable.
    """
    return int(np.random.SeedSequence([int(run_seed), int(index)]).generate_state(1, np.uint64)[0] >> 1)


def finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
