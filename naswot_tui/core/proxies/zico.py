"""ZiCo: inverse coefficient of variation of the loss gradients across minibatches.

ZiCo needs at least two minibatches; a run scores one batch, so we split it
in two halves (first N//2 images, then the rest), each with its own
forward/backward, as the reference code does per loader batch. Statistics
are computed in numpy float32 exactly as the authors' code computes them.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from naswot_tui.core.errors import UsageError
from naswot_tui.core.proxies.context import ScoringPass, check_head, layer_weights
from naswot_tui.core.proxies.registry import Cost, ProxySpec, register

CITATION = ("Li et al., ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients, ICLR 2023; "
            "SLDGroup/ZiCo ZeroShotProxy/compute_zico.py")


def zico_from_grads(per_batch: list[list[np.ndarray]]) -> float:
    """sum over layers of log(sum over weights of mean|g| / std(g)), std over batches, nonzero std only."""
    total = 0.0
    for layer_grads in zip(*per_batch, strict=True):
        g = np.stack(layer_grads)
        std = np.std(g, axis=0)
        nz = np.nonzero(std)[0]
        tmp = np.sum(np.mean(np.abs(g), axis=0)[nz] / std[nz])
        if tmp != 0:
            total += np.log(tmp)
    return float(total)


def _zico(p: ScoringPass) -> float:
    labels = p.require_labels("zico")
    n = p.images.shape[0]
    if n < 4:
        raise UsageError(f"proxy zico splits the batch into two halves and needs at least 4 images, got {n}")
    weights = layer_weights(p.layers)
    per_batch = []
    p.net.train()
    for lo, hi in ((0, n // 2), (n // 2, n)):
        with torch.enable_grad():
            logits = p.net(p.images[lo:hi])
            check_head(logits, "zico")
            loss = F.cross_entropy(logits, labels[lo:hi])
            grads = torch.autograd.grad(loss, weights, allow_unused=True)
        per_batch.append([(torch.zeros_like(w) if g is None else g).detach().cpu().reshape(-1).numpy()
                          for g, w in zip(grads, weights, strict=True)])
    return zico_from_grads(per_batch)


register(ProxySpec("zico", Cost.FORWARD_BACKWARD, True,
                   "ZiCo: sum over layers of log(sum mean|grad|/std(grad)) over two half-batches", CITATION, _zico))
