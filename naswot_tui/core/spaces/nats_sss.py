"""NATS-Bench size search space (sss): 32,768 channel configurations.

An architecture is five layer widths ``c0:c1:c2:c3:c4``, each one of
8, 16, ..., 64. The benchmark's index order (``meta_archs`` in its
``meta.pickle.pbz2``) is the plain product order with the last layer varying
fastest, so we derive it by rule (base-8 digits) instead of shipping the list;
tests check the rule against the real meta file.

The network (docs/formats.md §3.3): stem Conv3x3(3->c0)+BN, then cell(c0),
residual reduction c0->c1, cell c1->c2, reduction c2->c3, cell c3->c4, with
the fixed NATS cell below; BN+ReLU, global pool, linear.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from torch import nn

from naswot_tui.core.errors import UsageError
from naswot_tui.core.spaces.base import SearchSpace
from naswot_tui.core.spaces.nb201 import genotype, parse_cell
from naswot_tui.core.spaces.nb201_ops import TinyNetwork

WIDTHS = (8, 16, 24, 32, 40, 48, 56, 64)
NUM_LAYERS = 5
# The one cell every size-space network uses.
CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
# Layer roles after the stem: cell, reduction, cell, reduction, cell.
REDUCTIONS = (False, True, False, True, False)


def format_channels(widths: Iterable[int | str]) -> str:
    return ":".join(str(int(w)) for w in widths)


def parse_channels(text: str) -> tuple[int, ...]:
    """Strictly parse ``c0:c1:c2:c3:c4``; raises UsageError naming the problem."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError("empty NATS size-space architecture; expected five widths like '8:16:32:48:64'")
    parts = text.split(":")
    if len(parts) != NUM_LAYERS:
        raise UsageError(
            f"malformed NATS size-space arch {text!r}: expected {NUM_LAYERS} widths separated by ':', "
            f"found {len(parts)}"
        )
    widths = []
    for layer, part in enumerate(parts):
        if not (part.isascii() and part.isdigit()) or (len(part) > 1 and part[0] == "0"):  # not '²' or '٣'
            raise UsageError(f"malformed NATS size-space arch {text!r}: width {part!r} of layer {layer} "
                             "is not a plain integer")
        width = int(part)
        if width not in WIDTHS:
            raise UsageError(
                f"malformed NATS size-space arch {text!r}: width {width} of layer {layer} is not one of "
                f"{', '.join(map(str, WIDTHS))}"
            )
        widths.append(width)
    return tuple(widths)


def widths_of(index: int) -> tuple[int, ...]:
    """Index -> widths: base-8 digits, first layer most significant."""
    digits = []
    for _ in range(NUM_LAYERS):
        index, d = divmod(index, len(WIDTHS))
        digits.append(WIDTHS[d])
    return tuple(reversed(digits))


def index_of(widths: Iterable[int | str]) -> int:
    index = 0
    for w in widths:
        index = index * len(WIDTHS) + WIDTHS.index(int(w))
    return index


def build_network(widths: Iterable[int | str], num_classes: int = 1) -> nn.Module:
    c = tuple(int(w) for w in widths)
    return TinyNetwork(genotype(parse_cell(CELL)), c[0], list(c), list(REDUCTIONS), num_classes)


class NATSSizeSpace(SearchSpace):
    name = "nats-sss"
    description = "NATS-Bench size: 32,768 width configurations c0:c1:c2:c3:c4 from {8..64}"
    widths = WIDTHS
    cell = CELL

    @property
    def size(self) -> int:
        return int(len(WIDTHS) ** NUM_LAYERS)  # int ** int is typed Any (a negative power is a float)

    def arch(self, index: int) -> str:
        return format_channels(widths_of(self._check_index(index)))

    def index(self, arch: str) -> int:
        return index_of(parse_channels(arch))

    def parse(self, arch: str) -> tuple[int, ...]:
        return parse_channels(arch)

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        widths = list(widths_of(self._check_index(index)))
        layer = int(rng.integers(NUM_LAYERS))
        choices = [w for w in WIDTHS if w != widths[layer]]
        widths[layer] = choices[int(rng.integers(len(choices)))]
        return index_of(widths)

    def build(self, arch: str, num_classes: int = 1) -> nn.Module:
        return build_network(parse_channels(arch), num_classes)
