"""MeCo: sum over every module of the smallest eigenvalue of its feature maps' channel correlation.

As in the reference: one random 1x3x64x64 Gaussian input (whatever the
dataset), a forward hook on every module (containers and the network
included), the first sample's output reshaped to (channels, pixels), its
``corrcoef`` with NaN/inf set to 0. Outputs with fewer than two channels
give no correlation matrix and are skipped (the reference's eigensolver
fails on them and the whole score becomes NaN); outputs with one pixel per
channel are skipped too (their zeroed matrix adds an eigenvalue of 0).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from naswot_tui.core.proxies.registry import Cost, ProxySpec, register

CITATION = ("Jiang et al., MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum Eigenvalue "
            "of Correlation, NeurIPS 2023; HamsterMimi/MeCo correlation/foresight/pruners/measures/meco.py")
MECO_SALT = 0x3EC0
INPUT_SHAPE = (1, 3, 64, 64)


def meco_score(net: nn.Module, generator: torch.Generator) -> float:
    values: list[torch.Tensor] = []

    def hook(module: nn.Module, args: Any, output: Any) -> None:
        if not isinstance(output, torch.Tensor) or output.dim() < 2:
            return
        fea = output[0].detach()
        fea = fea.reshape(fea.shape[0], -1)
        if fea.shape[0] < 2 or fea.shape[1] < 2:
            return  # one channel: no matrix; one pixel per channel: NaN correlations, zeroed, eigenvalue 0
        corr = torch.corrcoef(fea)
        corr[~torch.isfinite(corr)] = 0
        values.append(torch.linalg.eigvalsh(corr).min())

    handles = [m.register_forward_hook(hook) for m in net.modules()]
    net.train()
    try:
        with torch.no_grad():
            x = torch.randn(INPUT_SHAPE, generator=generator).to(next(net.parameters()).device)
            net(x)
    finally:
        for h in handles:
            h.remove()
    results = torch.stack(values) if values else torch.zeros(0)
    return float(torch.sum(results[~torch.isnan(results)]))


register(ProxySpec("meco", Cost.NO_DATA, False,
                   "MeCo: sum of the smallest eigenvalues of per-layer channel correlations, one random image",
                   CITATION, lambda p: meco_score(p.net, p.generator(MECO_SALT))))
