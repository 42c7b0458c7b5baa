"""Zen-score: log of the pre-pooling feature change under a small input perturbation, plus BN scales.

As in the reference: Gaussian weights (N(0,1) convs and linears, BN weight 1
bias 0), two Gaussian input batches, mixup = x1 + 0.01 x2, BatchNorm in
training mode from fresh running statistics. Works on a deep copy, with
draws from the pass's own generator, so the network handed in is unchanged.
"Pre-pooling" is the input of the network's last ``AdaptiveAvgPool2d``.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from naswot_tui.core.errors import UsageError
from naswot_tui.core.proxies.registry import Cost, ProxySpec, register

CITATION = ("Lin et al., Zen-NAS: A Zero-Shot NAS for High-Performance Deep Image Recognition, ICCV 2021; "
            "idstcv/ZenNAS ZeroShotProxy/compute_zen_score.py")
MIXUP_GAMMA = 1e-2
ZEN_SALT = 0x2E4


def gaussian_init(net: nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.normal_(generator=generator)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                m.weight.fill_(1.0)
                m.bias.zero_()


def zen_score(net: nn.Module, image_shape: tuple[int, ...], batch_size: int,
              generator: torch.Generator) -> float:
    pools = [m for m in net.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    if not pools:
        raise UsageError("proxy zen needs a network that ends in global average pooling (AdaptiveAvgPool2d)")
    work = copy.deepcopy(net)
    for m in work.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
    work.train()
    gaussian_init(work, generator)
    pool = [m for m in work.modules() if isinstance(m, nn.AdaptiveAvgPool2d)][-1]
    captured: list[torch.Tensor] = []
    handle = pool.register_forward_pre_hook(lambda module, args: captured.append(args[0]))
    device = next(work.parameters()).device
    try:
        with torch.no_grad():
            x1 = torch.randn((batch_size, *image_shape), generator=generator).to(device)
            x2 = torch.randn((batch_size, *image_shape), generator=generator).to(device)
            work(x1)
            work(x1 + MIXUP_GAMMA * x2)
    finally:
        handle.remove()
    out, mixed = captured[-2], captured[-1]
    score = torch.log(torch.mean(torch.sum(torch.abs(out - mixed), dim=[1, 2, 3])))
    log_bn = torch.zeros(())
    for m in work.modules():
        if isinstance(m, nn.BatchNorm2d) and m.running_var is not None:
            log_bn = log_bn + torch.log(torch.sqrt(torch.mean(m.running_var)))
    return float(score + log_bn)


register(ProxySpec("zen", Cost.NO_DATA, False,
                   "Zen-score: log feature change under input mixup, Gaussian weights, plus log BN scales",
                   CITATION,
                   lambda p: zen_score(p.net, tuple(p.images.shape[1:]), p.images.shape[0], p.generator(ZEN_SALT))))
