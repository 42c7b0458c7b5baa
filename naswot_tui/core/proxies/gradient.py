"""Gradient proxies of the zero-cost papers: jacov, snip, grad_norm, plain, fisher, grasp.

All of them read the pass's one shared forward/backward (see context.py):
the same cross-entropy gradient serves snip, grad_norm, plain, fisher and
grasp's first gradient; jacov's input Jacobian comes from the same graph.
Per-layer values are summed over the Conv2d/Linear layers in module order,
in the tensors' own precision, as zero-cost-nas's ``find_measures`` does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch

from naswot_tui.core.proxies.context import ScoringPass, layer_weights
from naswot_tui.core.proxies.registry import Cost, ProxySpec, register

ZC_CITATION = ("Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021; "
               "SamsungLabs/zero-cost-nas foresight/pruners/measures/{}.py")


def _layer_sum(values: Iterable[torch.Tensor]) -> float:
    """Sum of per-layer tensors, accumulated like zero-cost-nas's ``sum_arr``."""
    total = torch.zeros(())
    for v in values:
        total = total + torch.sum(v.detach())
    return float(total)


def _grads_and_weights(p: ScoringPass) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(dL/dw, w) per layer, detached; a weight the loss never reached has gradient zero."""
    grads = p.shared.weight_grads
    assert grads is not None
    return [(torch.zeros_like(w) if g is None else g.detach(), w.detach())
            for g, w in zip(grads, layer_weights(p.layers), strict=True)]


def _snip(p: ScoringPass) -> float:
    # d loss / d mask at mask = 1 equals grad(weight) * weight.
    return _layer_sum((g * w).abs() for g, w in _grads_and_weights(p))


def _grad_norm(p: ScoringPass) -> float:
    return _layer_sum(g.norm() for g, _ in _grads_and_weights(p))


def _plain(p: ScoringPass) -> float:
    return _layer_sum(g * w for g, w in _grads_and_weights(p))


def _fisher(p: ScoringPass) -> float:
    shared = p.shared
    assert shared.outputs is not None and shared.output_grads is not None
    per_layer = []
    for w, act, grad in zip(layer_weights(p.layers), shared.outputs, shared.output_grads, strict=True):
        if act is None or grad is None:
            continue
        act, grad = act.detach(), grad.detach()
        g_nk = (act * grad).sum(dim=tuple(range(2, act.dim()))) if act.dim() > 2 else act * grad
        per_channel = g_nk.pow(2).mean(0).mul(0.5)
        # zero-cost-nas broadcasts each channel's value over the weight's other dimensions, then sums.
        per_layer.append(per_channel.abs().sum() * math.prod(w.shape[1:]))
    return _layer_sum(per_layer)


def _grasp(p: ScoringPass) -> float:
    grads = p.shared.weight_grads  # carry their graph (create_graph) when grasp is asked for
    assert grads is not None
    weights = layer_weights(p.layers)
    z = torch.zeros(())
    for g in grads:
        if g is not None:
            z = z + (g.detach() * g).sum()
    hess_grad = torch.autograd.grad(z, weights, allow_unused=True)
    return _layer_sum(-w.detach() * hg for w, hg in zip(weights, hess_grad, strict=True) if hg is not None)


def jacov_score(jacobian: np.ndarray) -> float:
    """NASWOT v1: -sum(log(l + k) + 1/(l + k)) over the eigenvalues l of the Jacobians' correlations."""
    corr = np.corrcoef(jacobian.reshape(jacobian.shape[0], -1))
    if not np.all(np.isfinite(corr)):
        return float("nan")
    eig = np.linalg.eigvalsh(corr)
    k = 1e-5
    return float(-np.sum(np.log(eig + k) + 1.0 / (eig + k)))


def _jacov(p: ScoringPass) -> float:
    jacobian = p.shared.jacobian
    assert jacobian is not None
    return jacov_score(jacobian.cpu().numpy())


for name, fn, needs_labels, ref, text in (
    ("jacov", _jacov, False, "jacob_cov", "NASWOT v1: eigen-spectrum of the input Jacobians' correlation"),
    ("snip", _snip, True, "snip", "SNIP: sum |dL/dw * w| of the cross-entropy loss"),
    ("grad_norm", _grad_norm, True, "grad_norm", "sum over layers of ||dL/dw||"),
    ("plain", _plain, True, "plain", "sum of dL/dw * w"),
    ("fisher", _fisher, True, "fisher", "Fisher: activation x gradient at every layer output, squared, summed"),
    ("grasp", _grasp, True, "grasp", "GraSP: -w * Hg (Hessian-gradient product of the loss)"),
):
    register(ProxySpec(name, Cost.FORWARD_BACKWARD, needs_labels, text, ZC_CITATION.format(ref), fn))
