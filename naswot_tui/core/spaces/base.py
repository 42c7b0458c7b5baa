"""The interface every search space implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only: listing spaces must not import torch (TUI first frame)
    from torch import nn


class SearchSpace(ABC):
    """A finite, indexed set of architectures.

    Architectures are addressed by an integer index (the benchmark's own
    order where there is one) and by a canonical string; ``arch`` and
    ``index`` convert between the two and ``build`` makes the untrained
    network that NASWOT scores.
    """

    #: short name used on the command line and in traces, e.g. ``nb201``
    name: str = ""
    #: one-line human description for pickers and ``--help``
    description: str = ""
    #: datasets the space has ground truth or a network for
    datasets: tuple[str, ...] = ("cifar10", "cifar100", "ImageNet16-120")

    #: True when every index below ``size`` is an architecture. Sparse spaces
    #: (NB101 without its file: codes of which most are not valid cells) are
    #: sampled through ``sample`` only.
    @property
    def dense(self) -> bool:
        return True

    @property
    @abstractmethod
    def size(self) -> int:
        """Number of architectures."""

    @abstractmethod
    def arch(self, index: int) -> str:
        """Canonical string of architecture ``index``."""

    @abstractmethod
    def index(self, arch: str) -> int:
        """Index of an architecture string; raises UsageError when malformed."""

    @abstractmethod
    def build(self, arch: str, num_classes: int = 1) -> nn.Module:
        """The untrained network (default PyTorch initialisation)."""

    def sample(self, rng: np.random.Generator) -> int:
        """A uniformly random index."""
        return int(rng.integers(self.size))

    @abstractmethod
    def mutate(self, index: int, rng: np.random.Generator) -> int:
        """A neighbour of ``index`` that differs in exactly one choice."""

    def known_costs(self, arch: str, num_classes: int = 1,
                    input_size: tuple[int, int, int] = (3, 32, 32)) -> tuple[int, int] | None:
        """``(parameters, FLOPs)`` of ``build(arch, num_classes)`` on one ``input_size``
        image (FLOPs in NAS-Bench-201's convention: conv + linear), when the space
        can say without building the network; None when it cannot (the default).

        The ``params`` and ``flops`` proxies use it, so a whole-space run of them
        builds no networks where the space knows its costs.
        """
        return None

    def num_classes(self, dataset: str) -> int:
        return {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}.get(dataset, 10)

    def _check_index(self, index: int) -> int:
        from naswot_tui.core.errors import UsageError

        if not 0 <= int(index) < self.size:
            raise UsageError(f"{self.name}: index {index} out of range 0..{self.size - 1}")
        return int(index)
