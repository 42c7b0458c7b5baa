"""AnyNet networks of the NDS ResNet, ResNeXt-A/B, ResNet-B and Vanilla spaces.

These are the networks NDS trained (docs/formats.md §2.7), not the ones
the NASWOT reference builds (2.8): element 0 of ``ds``/``ws``/``ss``/
``bot_muls``/``num_gs`` describes the stem, elements 1.. the stages, and
``num_gs`` is a number of groups. This reproduces the published ``params``
and ``flops`` of real NDS records exactly.

Only ``nn.ReLU`` modules contain "ReLU" in their class name here (as in the
pycls AnyNet), so the reference hook rule hooks every activation once. ReLUs
are in place, as pycls builds them; the binary code a hook reads is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

BLOCK_TYPES = ("double_plain_block", "res_basic_block", "res_bottleneck_block")


def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(c_out)]


class ResStemCifar(nn.Module):
    """3x3 conv 3 -> w, BN, ReLU (the CIFAR stem, NDS element 0)."""

    def __init__(self, w: int):
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn(3, w, 3), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stem(x)


class ResStemIN(nn.Module):
    """7x7 conv stride 2, BN, ReLU, 3x3 max pool stride 2 (ImageNet residual stem)."""

    def __init__(self, w: int):
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn(3, w, 7, stride=2), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, stride=2, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stem(x)


class SimpleStemIN(nn.Module):
    """3x3 conv stride 2, BN, ReLU (ImageNet plain stem)."""

    def __init__(self, w: int):
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn(3, w, 3, stride=2), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stem(x)


class VanillaBlock(nn.Module):
    """``double_plain_block``: two 3x3 conv + BN + ReLU, no shortcut."""

    def __init__(self, w_in: int, w: int, stride: int, **_: Any):
        super().__init__()
        self.f = nn.Sequential(*_conv_bn(w_in, w, 3, stride), nn.ReLU(inplace=True),
                               *_conv_bn(w, w, 3), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.f(x)


class _Residual(nn.Module):
    """x -> ReLU(shortcut(x) + f(x)); shortcut = 1x1 conv + BN when the shape changes."""

    f: nn.Sequential  # the residual branch, set by each subclass
    proj: nn.Sequential | None

    def _make_shortcut(self, w_in: int, w: int, stride: int) -> None:
        self.proj = None
        if w_in != w or stride != 1:
            self.proj = nn.Sequential(nn.Conv2d(w_in, w, 1, stride=stride, bias=False), nn.BatchNorm2d(w))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.proj is None else self.proj(x)
        return self.relu(shortcut + self.f(x))


class ResBasicBlock(_Residual):
    """``res_basic_block``: 3x3 conv, BN, ReLU, 3x3 conv, BN; residual add; ReLU."""

    def __init__(self, w_in: int, w: int, stride: int, **_: Any):
        super().__init__()
        self.f = nn.Sequential(*_conv_bn(w_in, w, 3, stride), nn.ReLU(inplace=True), *_conv_bn(w, w, 3))
        self._make_shortcut(w_in, w, stride)


class ResBottleneckBlock(_Residual):
    """``res_bottleneck_block``: 1x1 -> w_b, grouped 3x3 (strided), 1x1 -> w; residual add; ReLU."""

    def __init__(self, w_in: int, w: int, stride: int, bot_mul: float = 1.0, num_groups: int = 1):
        super().__init__()
        w_b = int(round(w * bot_mul))
        self.f = nn.Sequential(
            *_conv_bn(w_in, w_b, 1), nn.ReLU(inplace=True),
            *_conv_bn(w_b, w_b, 3, stride, groups=int(num_groups)), nn.ReLU(inplace=True),
            *_conv_bn(w_b, w, 1),
        )
        self._make_shortcut(w_in, w, stride)


_BLOCKS: dict[str, Callable[..., nn.Module]] = {
    "double_plain_block": VanillaBlock,
    "res_basic_block": ResBasicBlock,
    "res_bottleneck_block": ResBottleneckBlock,
}


class AnyStage(nn.Module):
    def __init__(self, block_cls: Callable[..., nn.Module], w_in: int, w: int, stride: int, depth: int,
                 bot_mul: float, num_groups: int):
        super().__init__()
        self.blocks = nn.Sequential(*(
            block_cls(w_in if i == 0 else w, w, stride if i == 0 else 1, bot_mul=bot_mul, num_groups=num_groups)
            for i in range(depth)
        ))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


class AnyHead(nn.Module):
    def __init__(self, w_in: int, num_classes: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(w_in, num_classes, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(x).flatten(1))


class AnyNet(nn.Module):
    def __init__(self, block_type: str, ds: Sequence[int], ws: Sequence[int], ss: Sequence[int],
                 bot_muls: Sequence[float] | None = None, num_gs: Sequence[int] | None = None,
                 num_classes: int = 10, imagenet: bool = False):
        super().__init__()
        n = len(ds)
        bot_muls = list(bot_muls) if bot_muls else [1.0] * n
        num_gs = list(num_gs) if num_gs else [1] * n
        block_cls = _BLOCKS[block_type]
        self.stem: nn.Module
        if imagenet:
            # [I] NDS's ImageNet stem encoding is unknown: we use the pycls
            # ImageNet stems at width ws[0] and keep element 0 as the stem.
            self.stem = (SimpleStemIN if block_type == "double_plain_block" else ResStemIN)(int(ws[0]))
        else:
            self.stem = ResStemCifar(int(ws[0]))
        stages = []
        w_in = int(ws[0])
        for i in range(1, n):
            stages.append(AnyStage(block_cls, w_in, int(ws[i]), int(ss[i]), int(ds[i]),
                                   float(bot_muls[i]), int(num_gs[i])))
            w_in = int(ws[i])
        self.stages = nn.Sequential(*stages)
        self.head = AnyHead(w_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


def check_anynet(net: dict[str, Any]) -> str | None:
    """Why an AnyNet ``net`` cannot be built, or None when it can."""
    block_type = net.get("block_type")
    if block_type not in _BLOCKS:
        return f"unknown block_type {block_type!r}; expected one of {', '.join(BLOCK_TYPES)}"
    lists: dict[str, list[Any]] = {}
    for key in ("ds", "ws", "ss"):
        value = net.get(key)
        if not isinstance(value, list) or len(value) < 2:
            return f"net.{key} must be a list (stem + stages) of length >= 2"
        lists[key] = value
    n = len(lists["ds"])
    for key in ("ws", "ss"):
        if len(lists[key]) != n:
            return f"net.{key} has {len(lists[key])} elements, net.ds has {n}"
    for key in ("ds", "ws", "ss"):
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in lists[key]):
            return f"net.{key} must hold non-negative integers"
    if not all(v > 0 for v in lists["ws"]) or not all(v > 0 for v in lists["ss"]):
        return "net.ws and net.ss must be positive"
    if block_type == "res_bottleneck_block":
        bms, gs = net.get("bot_muls"), net.get("num_gs")
        if not isinstance(bms, list) or not isinstance(gs, list) or len(bms) != n or len(gs) != n:
            return f"bottleneck nets need bot_muls and num_gs lists of length {n}"
        for i in range(1, n):
            if not isinstance(bms[i], (int, float)) or not isinstance(gs[i], int) or gs[i] < 1:
                return f"bad bot_muls/num_gs at element {i}"
            w_b = int(round(lists["ws"][i] * bms[i]))
            if w_b < 1 or w_b % gs[i]:
                return f"stage {i}: bottleneck width {w_b} is not a positive multiple of num_gs {gs[i]}"
    return None


def build_anynet(net: dict[str, Any], imagenet: bool = False, num_classes: int = 1) -> AnyNet:
    """The network an AnyNet ``net`` object of an NDS file describes."""
    return AnyNet(net["block_type"], net["ds"], net["ws"], net["ss"], net.get("bot_muls"), net.get("num_gs"),
                  num_classes=num_classes, imagenet=imagenet)


__all__ = ["AnyNet", "BLOCK_TYPES", "build_anynet", "check_anynet"]
