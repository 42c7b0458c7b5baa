"""Cell networks of the NDS cell spaces (DARTS, ENAS, PNAS, NASNet, Amoeba).

Written from docs/formats.md §2.7 (the DARTS-style ``NetworkCIFAR`` and
``NetworkImageNet`` that NDS trained). Class names matter for the reference
hook rule ("class name contains ReLU"): as in the authors' pycls code, only
``ReLUConvBN`` (the cells' ``preprocess`` ops) and ``nn.ReLU`` contain it;
``conv_1x1``, ``conv_3x3``, ``conv_3x1_1x3`` and ``conv_7x1_1x7`` are plain
``nn.Sequential`` objects starting with an ``nn.ReLU``. No other class in
this module may contain the substring.

Drop path is implemented for completeness but only runs in training mode with
``drop_path_prob > 0``; builders set it to 0, so scoring never uses it. No
auxiliary head is built (it never affects the score and breaks the backward
pass of the authors' procedure).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import nn

# ------------------------------------------------------------------ ops


class ReLUConvBN(nn.Module):
    """ReLU -> conv (no bias) -> BN; the cells' 1x1 pre-processing."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DilConv(nn.Module):
    """ReLU, depthwise k x k conv (dilated), 1x1 conv, BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride=stride, padding=padding, dilation=dilation,
                      groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class SepConv(nn.Module):
    """Two {ReLU, depthwise conv, 1x1 conv, BN}; only the first is strided."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int = 1):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride=stride, padding=padding, dilation=dilation,
                      groups=c_in, bias=False),
            nn.Conv2d(c_in, c_in, 1, bias=False),
            nn.BatchNorm2d(c_in, affine=True),
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride=1, padding=padding, dilation=dilation,
                      groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DilSepConv(SepConv):
    """``dil_sep_conv_3x3``: SepConv whose two depthwise convs have dilation 2."""


class Identity(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Zero(nn.Module):
    """The ``none`` op: zeros, strided by slicing at stride 2."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """ReLU, two 1x1 stride-2 convs (the second on the input shifted by a pixel), concat, BN."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        # c_out is even in every NDS network; an odd width still builds.
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0.0)
        self.bn = nn.BatchNorm2d(c_out, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = self.pad(x)[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def _relu_conv_bn_seq(c: int, kernel: int, stride: int, padding: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(c, c, kernel, stride=stride, padding=padding, bias=False),
        nn.BatchNorm2d(c, affine=True),
    )


def _factorized_kxk(c: int, k: int, stride: int) -> nn.Sequential:
    """ReLU, 1 x k conv (stride (1, s)), k x 1 conv (stride (s, 1)), BN."""
    p = k // 2
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(c, c, (1, k), stride=(1, stride), padding=(0, p), bias=False),
        nn.Conv2d(c, c, (k, 1), stride=(stride, 1), padding=(p, 0), bias=False),
        nn.BatchNorm2d(c, affine=True),
    )


def _pool(kind: str, k: int, stride: int) -> nn.Module:
    padding = 0 if k == 2 else k // 2
    if kind == "avg":
        return nn.AvgPool2d(k, stride=stride, padding=padding, count_include_pad=False)
    return nn.MaxPool2d(k, stride=stride, padding=padding)


# name -> factory(channels, stride); the pycls NAS op table.
OPS: dict[str, Callable[[int, int], nn.Module]] = {
    "none": lambda c, s: Zero(s),
    "skip_connect": lambda c, s: Identity() if s == 1 else FactorizedReduce(c, c),
    "avg_pool_2x2": lambda c, s: _pool("avg", 2, s),
    "avg_pool_3x3": lambda c, s: _pool("avg", 3, s),
    "avg_pool_5x5": lambda c, s: _pool("avg", 5, s),
    "max_pool_2x2": lambda c, s: _pool("max", 2, s),
    "max_pool_3x3": lambda c, s: _pool("max", 3, s),
    "max_pool_5x5": lambda c, s: _pool("max", 5, s),
    "max_pool_7x7": lambda c, s: _pool("max", 7, s),
    "conv_1x1": lambda c, s: _relu_conv_bn_seq(c, 1, s, 0),
    "conv_3x3": lambda c, s: _relu_conv_bn_seq(c, 3, s, 1),
    "conv_3x1_1x3": lambda c, s: _factorized_kxk(c, 3, s),
    "conv_7x1_1x7": lambda c, s: _factorized_kxk(c, 7, s),
    "sep_conv_3x3": lambda c, s: SepConv(c, c, 3, s, 1),
    "sep_conv_5x5": lambda c, s: SepConv(c, c, 5, s, 2),
    "sep_conv_7x7": lambda c, s: SepConv(c, c, 7, s, 3),
    "dil_conv_3x3": lambda c, s: DilConv(c, c, 3, s, 2, 2),
    "dil_conv_5x5": lambda c, s: DilConv(c, c, 5, s, 4, 2),
    "dil_sep_conv_3x3": lambda c, s: DilSepConv(c, c, 3, s, 2, 2),
}

# Op vocabularies of the NDS cell spaces (docs/formats.md §2.4).
SPACE_OPS = {
    "nasnet": ("skip_connect", "conv_3x1_1x3", "conv_7x1_1x7", "dil_conv_3x3", "avg_pool_3x3", "max_pool_3x3",
               "max_pool_5x5", "max_pool_7x7", "conv_1x1", "conv_3x3", "sep_conv_3x3", "sep_conv_5x5",
               "sep_conv_7x7"),
    "amoeba": ("skip_connect", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "avg_pool_3x3", "max_pool_3x3",
               "dil_sep_conv_3x3", "conv_7x1_1x7"),
    "pnas": ("sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "conv_7x1_1x7", "skip_connect", "avg_pool_3x3",
             "max_pool_3x3", "dil_conv_3x3"),
    "enas": ("skip_connect", "sep_conv_3x3", "sep_conv_5x5", "avg_pool_3x3", "max_pool_3x3"),
    "darts": ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
              "dil_conv_3x3", "dil_conv_5x5"),
}


# ------------------------------------------------------------------ genotype


class Genotype:
    """A cell genotype: ``normal``/``reduce`` lists of (op, input state), two per node."""

    __slots__ = ("normal", "normal_concat", "reduce", "reduce_concat")

    def __init__(self, normal: Iterable[Sequence[Any]], normal_concat: Iterable[Any],
                 reduce: Iterable[Sequence[Any]], reduce_concat: Iterable[Any]) -> None:
        self.normal = [(str(op), int(i)) for op, i in normal]
        self.normal_concat = [int(i) for i in normal_concat]
        self.reduce = [(str(op), int(i)) for op, i in reduce]
        self.reduce_concat = [int(i) for i in reduce_concat]

    @classmethod
    def from_json(cls, g: dict[str, Any]) -> Genotype:
        return cls(g["normal"], g["normal_concat"], g["reduce"], g["reduce_concat"])


def check_genotype(g: object) -> str | None:
    """Why the ``genotype`` object ``g`` cannot be built, or None when it can."""
    if not isinstance(g, dict):
        return "genotype is not an object"
    for part in ("normal", "reduce"):
        pairs, concat = g.get(part), g.get(part + "_concat")
        if not isinstance(pairs, list) or not pairs or len(pairs) % 2:
            return f"genotype.{part} must be a non-empty list of [op, input] pairs, two per node"
        for k, pair in enumerate(pairs):
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
                return f"genotype.{part}[{k}] is not an [op, input] pair"
            op, src = pair
            if op not in OPS:
                return f"genotype.{part}[{k}]: unknown op {op!r}"
            if not isinstance(src, int) or isinstance(src, bool) or not 0 <= src <= k // 2 + 1:
                return f"genotype.{part}[{k}]: input {src!r} out of range 0..{k // 2 + 1}"
        n_states = len(pairs) // 2 + 2
        if (not isinstance(concat, list) or not concat
                or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n_states for i in concat)):
            return f"genotype.{part}_concat must list state indexes in 0..{n_states - 1}"
    return None


# ------------------------------------------------------------------ network


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    keep = 1.0 - drop_prob
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask


class Cell(nn.Module):
    def __init__(self, genotype: Genotype, c_prev_prev: int, c_prev: int, c: int,
                 reduction: bool, reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = FactorizedReduce(c_prev_prev, c) if reduction_prev else ReLUConvBN(c_prev_prev, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0)
        pairs = genotype.reduce if reduction else genotype.normal
        self.concat = list(genotype.reduce_concat if reduction else genotype.normal_concat)
        self.multiplier = len(self.concat)
        self.steps = len(pairs) // 2
        self.inputs = [src for _, src in pairs]
        self.ops = nn.ModuleList(
            OPS[name](c, 2 if reduction and src < 2 else 1) for name, src in pairs
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(self.steps):
            h = []
            for k in (2 * i, 2 * i + 1):
                op = self.ops[k]
                out = op(states[self.inputs[k]])
                if self.training and drop_prob > 0.0 and not isinstance(op, Identity):
                    out = drop_path(out, drop_prob)
                h.append(out)
            states.append(h[0] + h[1])
        return torch.cat([states[i] for i in self.concat], dim=1)


class Classifier(nn.Module):
    """Global average pool + linear."""

    def __init__(self, c_in: int, num_classes: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(x).flatten(1))


def _reduction_layers(depth: int) -> tuple[int, int]:
    return depth // 3, 2 * depth // 3


class _CellStack(nn.Module):
    drop_path_prob = 0.0  # never changed while scoring

    def _make_cells(self, genotype: Genotype, width: int, depth: int, c_pp: int, c_p: int,
                    reduction_prev: bool) -> int:
        cells = []
        c_curr = width
        for i in range(depth):
            reduction = i in _reduction_layers(depth)
            if reduction:
                c_curr *= 2
            cell = Cell(genotype, c_pp, c_p, c_curr, reduction, reduction_prev)
            cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_curr
        self.cells = nn.ModuleList(cells)
        return c_p

    def _run_cells(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
        return s1


class NetworkCIFAR(_CellStack):
    """3x3 stem to 3C, ``depth`` cells with reductions at depth//3 and 2*depth//3, pool, linear."""

    def __init__(self, genotype: Genotype, width: int, depth: int, num_classes: int = 10):
        super().__init__()
        c_stem = 3 * width
        self.stem = nn.Sequential(
            nn.Conv2d(3, c_stem, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_stem),
        )
        c_last = self._make_cells(genotype, width, depth, c_stem, c_stem, False)
        self.classifier = Classifier(c_last, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stem(x)
        return self.classifier(self._run_cells(s, s))


class NetworkImageNet(_CellStack):
    """Two strided stems (224 -> 56 -> 28), then the cells as on CIFAR."""

    def __init__(self, genotype: Genotype, width: int, depth: int, num_classes: int = 1000):
        super().__init__()
        c = width
        self.stem0 = nn.Sequential(
            nn.Conv2d(3, c // 2, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(c // 2, c, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c),
        )
        # In place, as in the reference: it rectifies stem0's output, which is
        # harmless because cell 0 reads it through a FactorizedReduce (ReLU first).
        self.stem1 = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c),
        )
        c_last = self._make_cells(genotype, width, depth, c, c, True)
        self.classifier = Classifier(c_last, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = self.stem0(x)
        s1 = self.stem1(s0)
        return self.classifier(self._run_cells(s0, s1))


def build_cell_network(net: dict[str, Any], imagenet: bool = False, num_classes: int = 1,
                       width: int | None = None, depth: int | None = None) -> nn.Module:
    """The network of a cell-space ``net`` (``width``/``depth`` override for tests)."""
    genotype = Genotype.from_json(net["genotype"])
    w = int(net["width"] if width is None else width)
    d = int(net["depth"] if depth is None else depth)
    cls = NetworkImageNet if imagenet else NetworkCIFAR
    return cls(genotype, w, d, num_classes)


__all__ = ["OPS", "SPACE_OPS", "Genotype", "check_genotype", "Cell", "NetworkCIFAR", "NetworkImageNet",
           "ReLUConvBN", "build_cell_network"]
