"""Operations and networks of NAS-Bench-201 / NATS-Bench (topology and size).

Written from the benchmark paper's description (docs/formats.md §3.2-3.3). Class names
matter: the authors hook every module whose *class name* contains ``ReLU``,
so ``ReLUConvBN`` must keep that name (and no other class here may contain
it) for our scores to equal theirs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

# NB201's op vocabulary, in the benchmark's own order.
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


class ReLUConvBN(nn.Module):
    """ReLU -> Conv (no bias) -> BatchNorm (affine)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int = 1):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(c_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Identity(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Zero(nn.Module):
    """The ``none`` op: multiply by zero (or zeros of the output shape)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.c_in, self.c_out, self.stride = c_in, c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.c_in == self.c_out:
            if self.stride == 1:
                return x.mul(0.0)
            return x[:, :, :: self.stride, :: self.stride].mul(0.0)
        shape = list(x.shape)
        shape[1] = self.c_out
        return x.new_zeros(shape)


class FactorizedReduce(nn.Module):
    """Width change (and, at stride 2, halving) by 1x1 convs + BN.

    At stride 1 the ReLU module exists but never runs, as in the benchmark's
    network: it must not contribute to the kernel.
    """

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.stride = stride
        self.relu = nn.ReLU(inplace=False)
        if stride == 2:
            halves = [c_out // 2, c_out - c_out // 2]
            self.convs = nn.ModuleList(nn.Conv2d(c_in, h, 1, stride=2, bias=False) for h in halves)
            self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0)
        elif stride == 1:
            self.conv = nn.Conv2d(c_in, c_out, 1, stride=1, bias=False)
        else:
            raise ValueError(f"FactorizedReduce: unsupported stride {stride}")
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 2:
            x = self.relu(x)
            y = self.pad(x)
            out = torch.cat([self.convs[0](x), self.convs[1](y[:, :, 1:, 1:])], dim=1)
        else:
            out = self.conv(x)
        return self.bn(out)


class Pooling(nn.Module):
    """``avg_pool_3x3``; a 1x1 ReLUConvBN projection first when the width changes."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.preprocess = None if c_in == c_out else ReLUConvBN(c_in, c_out, 1, 1, 0)
        self.op = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preprocess is not None:
            x = self.preprocess(x)
        return self.op(x)


def make_op(name: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    if name == "none":
        return Zero(c_in, c_out, stride)
    if name == "skip_connect":
        if stride == 1 and c_in == c_out:
            return Identity()
        return FactorizedReduce(c_in, c_out, stride)
    if name == "nor_conv_1x1":
        return ReLUConvBN(c_in, c_out, 1, stride, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c_in, c_out, 3, stride, 1)
    if name == "avg_pool_3x3":
        return Pooling(c_in, c_out, stride)
    raise ValueError(f"unknown NAS-Bench-201 op {name!r}")


# A cell genotype: for each node 1..3, the (op, input node) pairs of its edges.
Genotype = Sequence[Sequence[tuple[str, int]]]


class InferCell(nn.Module):
    """One NB201 cell: node j = sum of op(node i) over its incoming edges."""

    def __init__(self, genotype: Genotype, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.layers = nn.ModuleList()
        self.node_inputs: list[list[tuple[int, int]]] = []  # (layer index, input node)
        for node in genotype:
            edges = []
            for op_name, src in node:
                layer = make_op(op_name, c_in, c_out, stride) if src == 0 else make_op(op_name, c_out, c_out, 1)
                edges.append((len(self.layers), src))
                self.layers.append(layer)
            self.node_inputs.append(edges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for edges in self.node_inputs:
            nodes.append(sum(self.layers[k](nodes[src]) for k, src in edges))
        return nodes[-1]


class ResNetBasicblock(nn.Module):
    """The residual reduction block between stages."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample: nn.Module | None
        if stride == 2:
            self.downsample = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
            )
        elif c_in != c_out:
            self.downsample = ReLUConvBN(c_in, c_out, 1, 1, 0)
        else:
            self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_b(self.conv_a(x))
        residual = x if self.downsample is None else self.downsample(x)
        return residual + out


class TinyNetwork(nn.Module):
    """Stem, stages of cells separated by residual reductions, BN+ReLU, pool, linear.

    ``widths`` and ``reductions`` list each layer after the stem: NB201 uses
    three stages of five cells at 16/32/64; the NATS size space one cell per
    stage with per-layer widths.
    """

    def __init__(self, genotype: Genotype, stem_width: int, widths: Sequence[int],
                 reductions: Sequence[bool], num_classes: int):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem_width, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem_width),
        )
        cells: list[nn.Module] = []
        c_prev = stem_width
        for width, reduction in zip(widths, reductions, strict=True):
            if reduction:
                cells.append(ResNetBasicblock(c_prev, width, 2))
            else:
                cells.append(InferCell(genotype, c_prev, width, 1))
            c_prev = width
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        x = self.lastact(x)
        x = self.global_pooling(x).flatten(1)
        return self.classifier(x)
