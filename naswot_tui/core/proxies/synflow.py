"""SynFlow: synaptic flow of the all-ones input through |weights|, BatchNorm off, in float64.

Works on a deep copy (the reference takes the absolute value of every
weight in place), so the network handed in is never changed.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from naswot_tui.core.proxies.context import layer_weights, weighted_layers
from naswot_tui.core.proxies.registry import Cost, ProxySpec, register

CITATION = ("Tanaka et al., Pruning neural networks without any data by iteratively conserving synaptic flow, "
            "NeurIPS 2020; SamsungLabs/zero-cost-nas foresight/pruners/measures/synflow.py")


def _without_batchnorm(net: nn.Module) -> None:
    """Replace every BatchNorm by identity (zero-cost-nas scores synflow with ``bn=False``)."""
    for module in list(net.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(module, child_name, nn.Identity())


def synflow_score(net: nn.Module, image_shape: tuple[int, ...]) -> float:
    work = copy.deepcopy(net)
    _without_batchnorm(work)
    with torch.no_grad():
        for tensor in work.state_dict().values():
            if tensor.is_floating_point():
                tensor.abs_()
    work.double()
    work.train(net.training)
    ones = torch.ones((1, *image_shape), dtype=torch.float64, device=next(work.parameters()).device)
    weights = layer_weights(weighted_layers(work))
    with torch.enable_grad():
        out = work(ones)
        grads = torch.autograd.grad(out.sum(), weights, allow_unused=True)
    total = torch.zeros((), dtype=torch.float64)
    for w, g in zip(weights, grads, strict=True):
        if g is not None:
            total = total + torch.sum(torch.abs(w.detach() * g))
    return float(total)


register(ProxySpec("synflow", Cost.NO_DATA, False,
                   "SynFlow: sum |w * dR/dw| for R = sum of outputs on an all-ones input, |weights|, no BN",
                   CITATION, lambda p: synflow_score(p.net, tuple(p.images.shape[1:]))))
