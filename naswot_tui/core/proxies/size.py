"""Size proxies that need no data: parameter count, FLOPs and the weights' L2 norm."""

from __future__ import annotations

import torch

from naswot_tui.core.proxies.context import ScoringPass, layer_weights
from naswot_tui.core.proxies.registry import Cost, ProxySpec, register
from naswot_tui.core.scoring import count_params


def _flops(p: ScoringPass) -> float:
    from naswot_tui.core.flops import flops

    # NB201 / NATS convention (conv + linear), the benchmark's own FLOPs.
    return float(flops(p.net, tuple(p.images.shape[1:]), convention="nb201"))


def _l2_norm(p: ScoringPass) -> float:
    total = torch.zeros(())
    for w in layer_weights(p.layers):
        total = total + w.detach().norm()
    return float(total)


register(ProxySpec("params", Cost.NO_DATA, False, "number of parameters", "-",
                   lambda p: float(count_params(p.net))))
register(ProxySpec("flops", Cost.NO_DATA, False, "FLOPs of one image (NAS-Bench-201 convention)", "-", _flops))
register(ProxySpec("l2_norm", Cost.NO_DATA, False, "sum over Conv2d/Linear layers of ||w||",
                   "Abdelfattah et al., ICLR 2021; SamsungLabs/zero-cost-nas foresight/pruners/measures/l2_norm.py",
                   _l2_norm))
