"""The NASWOT score (SPEC section 1) and the proxies that share its interface.

    score = log |det K|,   K[i, j] = sum over hooked units of [c_i == c_j]

where ``c = (input > 0)`` is the binary activation code of each image at each
hooked module. We run a single forward pass (the authors' backward pass only
arms their hooks) and accumulate K on the device with one product per
*distinct* hooked tensor: with ``S = 2c - 1``, ``K_l = (S S^T + n_l) / 2``.
All entries are integers below 2^24, so float32 products are exact and the
float64 sum equals the authors' numpy accumulation bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from naswot_tui.core.errors import UsageError

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
    """Forward pre-hook target that builds K on the device.

    A tensor read by several hooked modules (a ``ReLUConvBN`` and its inner
    ReLU; several edges leaving one node) is multiplied once and weighted by
    how often it was seen. We keep a reference to each seen tensor until the
    forward pass ends so its ``id`` cannot be reused by a new tensor.
    """

    def __init__(self, batch_size: int, device: torch.device) -> None:
        self.batch_size = batch_size
        self.kernel = torch.zeros(batch_size, batch_size, dtype=torch.float64, device=device)
        self._seen: dict[int, list] = {}  # id -> [tensor, multiplicity, gram (float64), units]

    def __call__(self, module: nn.Module, args: tuple) -> None:
        x = args[0]
        entry = self._seen.get(id(x))
        if entry is not None and entry[0] is x:
            entry[1] += 1
            return
        flat = x.detach().reshape(x.shape[0], -1)
        signs = (flat > 0).to(torch.float32).mul_(2.0).sub_(1.0)
        gram = (signs @ signs.T).to(torch.float64)
        self._seen[id(x)] = [x, 1, gram, flat.shape[1]]

    def finish(self) -> torch.Tensor:
        for _, multiplicity, gram, units in self._seen.values():
            self.kernel += multiplicity * (gram + units) / 2
        self._seen.clear()
        return self.kernel


def hamming_kernel(model: nn.Module, batch: torch.Tensor, hook_rule: str = "reference") -> np.ndarray:
    """K as a float64 numpy array (one host copy)."""
    modules = hooked_modules(model, hook_rule)
    acc = _KernelAccumulator(batch.shape[0], batch.device)
    handles = [m.register_forward_pre_hook(acc) for m in modules]
    try:
        model.train()  # BatchNorm with batch statistics, as the authors scored
        with torch.no_grad():
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


PROXIES: dict[str, Proxy] = {
    "naswot": Proxy("naswot", "NASWOT log|K|, reference hook rule",
                    lambda m, b: score_network(m, b, "reference")),
    "naswot-relu": Proxy("naswot-relu", "NASWOT log|K|, activation modules only",
                         lambda m, b: score_network(m, b, "relu")),
    "params": Proxy("params", "number of parameters", lambda m, b: float(count_params(m)), uses_batch=False),
}


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
