"""NAS-Bench-101 search space.

Two index semantics, recorded in every trace through the benchmark file:

* **With a benchmark file** (``--benchmark-file nasbench_only108.tfrecord``):
  the 423,624 modules in order of first appearance in the file, i.e. the
  index the NASWOT reference used (position in ``hash_iterator()``). Sampling
  is uniform over the modules, as the authors sampled.
* **Without a file**: the space of *raw codes* (``nb101_spec``): 2^21 x 3^5 =
  509,607,936 padded 7-vertex encodings (21 upper-triangular edge bits, five
  interior ops). Most codes are invalid (unconnected, over 9 edges) and
  ``arch`` of one raises UsageError; many valid codes encode the same module.
  ``sample`` draws a module uniformly from the benchmark's 423,624 (by
  rejection, see ``nb101_spec.random_spec``) and returns its *canonical*
  code, the same integer for every vertex order of the module, so a module
  has one index (one init seed, one cache entry). Callers must draw through
  ``sample``: a uniform integer below ``size`` is almost never a valid cell.

Architecture strings are ``<adjacency bits>|<interior ops>`` (see
``nb101_spec``); with a file loaded a bare 32-digit module hash is accepted too.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from torch import nn

from naswot_tui.core.errors import UsageError
from naswot_tui.core.spaces.base import SearchSpace
from naswot_tui.core.spaces.nb101_ops import NB101Network
from naswot_tui.core.spaces.nb101_spec import (
    INPUT,
    NUM_MODULES,
    NUM_RAW_CODES,
    OPS,
    OUTPUT,
    Spec,
    canonical_code,
    make_spec,
    neighbours,
    parse_spec,
    random_spec,
    spec_of_raw,
)

if TYPE_CHECKING:
    from naswot_tui.core.benchmarks.nb101_tfrecord import NB101Table

# The network the NASWOT authors scored, and the one the benchmark trained.
SCORED_STEM = 16
BENCHMARK_STEM = 128


def build_network(spec: Spec, stem_channels: int = SCORED_STEM, num_classes: int = 1) -> nn.Module:
    return NB101Network(spec, stem_channels=stem_channels, num_classes=num_classes)


class NB101Space(SearchSpace):
    name = "nb101"
    description = "NAS-Bench-101: 423,624 cells (<= 7 vertices, <= 9 edges, conv3x3/conv1x1/maxpool)"
    datasets = ("cifar10",)

    def __init__(self, benchmark_file: str | None = None, stem_channels: int = SCORED_STEM) -> None:
        self.benchmark_file = benchmark_file
        self.stem_channels = stem_channels
        self._all: list[int] | None = None

    @cached_property
    def table(self) -> NB101Table | None:
        """The converted benchmark file, or None without one."""
        if self.benchmark_file is None:
            return None
        from naswot_tui.core.benchmarks.nb101_tfrecord import table_for

        return table_for(self.benchmark_file)

    @property
    def size(self) -> int:
        return NUM_RAW_CODES if self.table is None else len(self.table)

    @property
    def dense(self) -> bool:
        return self.table is not None

    @property
    def index_semantics(self) -> str:
        if self.table is None:
            return "canonical raw code (no benchmark file; see naswot_tui.core.spaces.nb101)"
        return f"module position in {self.table.name} (first appearance)"

    # ---------------------------------------------------------- specs

    def spec(self, index: int) -> Spec:
        index = self._check_index(index)
        if self.table is None:
            spec = spec_of_raw(index)
            if spec is None:
                raise UsageError(f"nb101: code {index} is not a valid cell (unconnected or over 9 edges after pruning)")
            return spec
        matrix, labels = self.table.spec_arrays(index)
        ops = [INPUT if c == -1 else OUTPUT if c == -2 else OPS[c] for c in labels]
        return make_spec(matrix, ops)

    def spec_index(self, spec: Spec) -> int:
        if self.table is None:
            return canonical_code(spec)
        h = spec.hash()
        try:
            return int(self.table.hash_index[h])
        except KeyError:
            raise UsageError(f"nb101: module {h} is not in {self.table.name}") from None

    def parse(self, arch: str) -> Spec:
        if self.table is not None and isinstance(arch, str) and len(arch) == 32 and "|" not in arch:
            try:
                return self.spec(self.table.hash_index[arch.lower()])
            except KeyError:
                raise UsageError(f"nb101: module hash {arch!r} is not in {self.table.name}") from None
        return parse_spec(arch)

    # ---------------------------------------------------------- interface

    def arch(self, index: int) -> str:
        return self.spec(index).to_string()

    def index(self, arch: str) -> int:
        return self.spec_index(self.parse(arch))

    def arch_hash(self, index: int) -> str:
        return self.spec(index).hash()

    @property
    def num_modules(self) -> int:
        """Distinct modules (423,624): what ``--n all`` scores."""
        return len(self.table) if self.table is not None else NUM_MODULES

    def all_indices(self) -> list[int]:
        """Every module's index once: without a benchmark file, from the canonical
        enumeration (core/spaces/nb101_enum.py; integers, never networks)."""
        if self.table is not None:
            return list(range(len(self.table)))
        if self._all is None:   # enumerated once per space object (every repeat draws from it)
            from naswot_tui.core.spaces.nb101_enum import iter_module_codes

            self._all = list(iter_module_codes())
        return self._all

    def sample(self, rng: np.random.Generator) -> int:
        if self.table is not None:
            return int(rng.integers(len(self.table)))
        return canonical_code(random_spec(rng))

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        parent = self.spec(index)
        for child in neighbours(parent, rng):
            try:
                return self.spec_index(child)
            except UsageError:
                continue  # a cut-down table without this neighbour
        raise UsageError(f"nb101: no single-change neighbour of {self.arch(index)} in this space")

    def build(self, arch: str, num_classes: int = 1) -> nn.Module:
        return build_network(self.parse(arch), self.stem_channels, num_classes)

    def build_benchmark(self, arch: str, num_classes: int = 10) -> nn.Module:
        """The 128-channel network the benchmark trained (for parameter counts)."""
        return build_network(self.parse(arch), BENCHMARK_STEM, num_classes)

    def num_classes(self, dataset: str) -> int:
        return 10
