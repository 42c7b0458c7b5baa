"""FLOP counting with the convention of the NDS / pycls data (docs/formats.md §2.7).

    conv    k_h * k_w * c_in * c_out * H_out * W_out / groups
    linear  in * out (+ out when it has a bias)
    BN      5 per output element
    ReLU, additions, pooling, concatenation: 0

This reproduces the ``flops`` field of the NDS AnyNet records exactly. Counts
are per image. Usable on any network as a cheap "FLOPs" proxy.

``convention="nb201"`` follows NAS-Bench-201 / NATS-Bench instead (their
``get_cost_info`` flops): conv and linear only, each with its bias term;
BN and pooling count 0. It reproduces the benchmark's values exactly on the
fixture architectures (tests/test_proxies.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

FLOP_CONVENTIONS = ("nds", "nb201")


def flops(model: nn.Module, input_size: Sequence[int] = (3, 32, 32), convention: str = "nds") -> int:
    """FLOPs of one forward pass of a single ``input_size`` (C, H, W) image."""
    if convention not in FLOP_CONVENTIONS:
        raise ValueError(f"unknown FLOP convention {convention!r}; choose one of {FLOP_CONVENTIONS}")
    nb201 = convention == "nb201"
    total = 0

    def conv_hook(module: nn.Conv2d, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        h_out, w_out = output.shape[-2:]
        total += kh * kw * module.in_channels * module.out_channels * h_out * w_out // module.groups
        if nb201 and module.bias is not None:
            total += module.out_channels * h_out * w_out

    def linear_hook(module: nn.Linear, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        total += module.in_features * module.out_features
        if module.bias is not None:
            total += module.out_features

    def bn_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        total += 5 * output[0].numel()  # one image of the batch

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and not nb201:
            handles.append(m.register_forward_hook(bn_hook))
    was_training = model.training
    try:
        # eval: a single image through BatchNorm in train mode can fail (1x1 maps).
        model.eval()
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        with torch.no_grad():
            model(torch.zeros(1, *input_size, device=device))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return int(total)


__all__ = ["FLOP_CONVENTIONS", "flops"]
