"""Training-free proxies: one registry, one scoring pass per network.

    from naswot_tui.core.proxies import score_proxies
    values = score_proxies(net, make_batch(), ["naswot", "synflow", "jacov"])

Each proxy is a :class:`ProxySpec` in :data:`PROXIES` (cost class, whether
it needs labels, description, citation). ``score_proxies`` computes every
named proxy in one :class:`ScoringPass` that shares the forward pass, the
loss gradients and the ReLU codes (context.py). Ensembles
(``ensemble:<a>+<b>``) rank a *set* of architectures: score their members
here, then combine the columns with :func:`ensemble_scores`.

Family modules: activation (naswot, swap), gradient (jacov, snip, grad_norm,
plain, fisher, grasp), zico, synflow, zen, meco, size (params, flops,
l2_norm), ensemble.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from naswot_tui.core.data import Batch
from naswot_tui.core.errors import UsageError
from naswot_tui.core.proxies import activation, gradient, meco, size, synflow, zen, zico  # noqa: F401  (register)
from naswot_tui.core.proxies.context import ScoringPass
from naswot_tui.core.proxies.ensemble import (
    ensemble_members,
    ensemble_scores,
    is_ensemble,
    log_rank,
    split_proxy_names,
)
from naswot_tui.core.proxies.registry import (
    ENSEMBLE_PREFIX,
    PROXIES,
    Cost,
    ProxySpec,
    get_spec,
    proxy_names,
)

__all__ = [
    "ENSEMBLE_PREFIX",
    "PROXIES",
    "Cost",
    "ProxySpec",
    "ScoringPass",
    "ensemble_members",
    "ensemble_scores",
    "get_spec",
    "is_ensemble",
    "log_rank",
    "proxy_names",
    "score_proxies",
    "split_proxy_names",
]


def score_proxies(net: nn.Module, batch: Batch, names: Sequence[str], seed: int = 0,
                  device: str | torch.device = "cpu") -> dict[str, float]:
    """Every named per-network proxy of ``net`` on ``batch`` (a ``core.data.Batch``), in one pass.

    ``seed`` seeds the random inputs of the proxies that draw them (zen,
    meco). The network's parameters, buffers and gradients are restored
    afterwards, so the order of ``names`` never changes a value.
    Raises UsageError for an unknown name, an ensemble (it ranks a set:
    see :func:`ensemble_scores`), or a label-based proxy on a network with
    a one-unit output or a batch without labels.
    """
    specs = [get_spec(n) for n in dict.fromkeys(names)]
    images = torch.from_numpy(np.ascontiguousarray(batch.images)).to(device)
    labels = batch.labels
    label_tensor = None if labels is None else torch.as_tensor(labels, dtype=torch.long, device=images.device)
    for spec in specs:
        if spec.needs_labels and label_tensor is None:
            raise UsageError(f"proxy {spec.name} needs class labels, but this batch has none; "
                             "use an embedded, root or synthetic CIFAR/ImageNet16 batch")
    saved = {k: v.detach().clone() for k, v in net.state_dict().items()}
    was_training = net.training
    p = ScoringPass(net, images, label_tensor, {s.name for s in specs}, seed=seed)
    try:
        return {spec.name: float(spec.fn(p)) for spec in specs}
    finally:
        net.load_state_dict(saved)  # BatchNorm running statistics moved with every training-mode forward
        net.train(was_training)
