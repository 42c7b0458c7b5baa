"""The NAS-Bench-101 network (docs/formats.md §1.8-1.9).

Stem conv3x3-bn-relu, three stacks of three cells with a 2x2 max-pool and a
channel doubling before stacks 1 and 2, global average pool, linear. The
benchmark trained it with a 128-channel stem; the NASWOT authors scored it
with 16 (and one output).

Class names matter for the reference hook rule (every module whose class
name contains ``ReLU``): the composite op is ``ConvBnRelu`` (spelt so that it
does NOT match, exactly like the authors' port), so only the ``nn.ReLU``
inside each conv op, projection and the stem is hooked. No other class here
may contain ``ReLU``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from naswot_tui.core.spaces.nb101_spec import OPS, Spec


class ConvBnRelu(nn.Module):
    """Conv (no bias, 'same' padding) -> BatchNorm -> ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int):
        super().__init__()
        self.op = nn.Sequential(
            nn.Conv2d(c_in, c_out, kernel, stride=1, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


def make_op(label: str, channels: int) -> nn.Module:
    if label == OPS[0]:
        return ConvBnRelu(channels, channels, 3)
    if label == OPS[1]:
        return ConvBnRelu(channels, channels, 1)
    if label == OPS[2]:
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"unknown NAS-Bench-101 op {label!r}")


def vertex_channels(matrix: Any, c_in: int, c_out: int) -> list[int]:  # matrix: 0/1 rows (list or array)
    """Channel count of every vertex (the benchmark's split rule)."""
    v_count = len(matrix)
    ch = [0] * v_count
    ch[0], ch[-1] = c_in, c_out
    if v_count == 2:
        return ch
    out = v_count - 1
    feeders = [v for v in range(1, out) if matrix[v][out]]
    base, extra = divmod(c_out, len(feeders))
    for k, v in enumerate(feeders):
        ch[v] = base + (1 if k < extra else 0)
    for v in range(v_count - 3, 0, -1):
        if not matrix[v][out]:
            ch[v] = max(ch[w] for w in range(v + 1, out) if matrix[v][w])
    if any(c <= 0 for c in ch):
        raise ValueError(f"NAS-Bench-101 cell with {c_out} output channels leaves a vertex without channels: {ch}")
    return ch


class Cell(nn.Module):
    """One module: vertices sum their (truncated) inputs, the output
    concatenates the vertices that feed it and adds a projection of the input."""

    def __init__(self, spec: Spec, c_in: int, c_out: int):
        super().__init__()
        self.matrix = [list(row) for row in spec.matrix]
        v_count = spec.num_vertices
        self.ch = vertex_channels(self.matrix, c_in, c_out)
        self.ops = nn.ModuleList([nn.Identity()])  # placeholder at vertex 0 keeps indices aligned
        self.projections = nn.ModuleList([nn.Identity()])
        for t in range(1, v_count):
            if t < v_count - 1:
                self.ops.append(make_op(spec.ops[t], self.ch[t]))
            else:
                self.ops.append(nn.Identity())
            if self.matrix[0][t]:
                self.projections.append(ConvBnRelu(c_in, self.ch[t], 1))
            else:
                self.projections.append(nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v_count = len(self.matrix)
        out = v_count - 1
        states = [x]
        for t in range(1, out):
            parts = [states[s][:, : self.ch[t]] for s in range(1, t) if self.matrix[s][t]]
            if self.matrix[0][t]:
                parts.append(self.projections[t](x))
            total = parts[0]
            for p in parts[1:]:
                total = total + p  # out of place: the authors' in-place add broke backward
            states.append(self.ops[t](total))
        feeders = [states[v] for v in range(1, out) if self.matrix[v][out]]
        if not feeders:
            return self.projections[out](x)
        result = feeders[0] if len(feeders) == 1 else torch.cat(feeders, dim=1)
        if self.matrix[0][out]:
            result = result + self.projections[out](x)
        return result


class NB101Network(nn.Module):
    """Stem, 3 stacks x 3 cells, max-pool downsampling, global pool, linear."""

    def __init__(self, spec: Spec, stem_channels: int = 16, num_stacks: int = 3,
                 cells_per_stack: int = 3, num_classes: int = 1):
        super().__init__()
        layers: list[nn.Module] = [ConvBnRelu(3, stem_channels, 3)]
        c_in = channels = stem_channels
        for stack in range(num_stacks):
            if stack > 0:
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                channels *= 2
            for _ in range(cells_per_stack):
                layers.append(Cell(spec, c_in, channels))
                c_in = channels
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(x)
        return self.classifier(x.mean(dim=(2, 3)))
