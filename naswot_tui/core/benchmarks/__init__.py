"""Ground truth: benchmark accuracies and costs of architectures.

A provider answers ``accuracy(index, dataset, split, epochs)`` with a
percentage or ``None`` when it does not know. ``Layered`` asks providers in
order, so a benchmark file the user names wins over the embedded table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from naswot_tui.core.errors import BenchmarkError

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
SPLITS = ("test", "valid")


class GroundTruth(Protocol):
    source: str

    def accuracy(self, index: int, dataset: str, split: str = "test", epochs: int = 200) -> float | None: ...

    def params(self, index: int) -> float | None: ...

    def train_time(self, index: int, dataset: str, epochs: int = 200) -> float | None: ...


class NoGroundTruth:
    source = "none"

    def accuracy(self, index: int, dataset: str, split: str = "test", epochs: int = 200) -> float | None:
        return None

    def params(self, index: int) -> float | None:
        return None

    def train_time(self, index: int, dataset: str, epochs: int = 200) -> float | None:
        return None


class EmbeddedNB201:
    """The table shipped in the package: NB201 v1_1 and NATS-tss v1.0 numbers."""

    source = "embedded NAS-Bench-201 table"
    _COLUMNS = {
        ("cifar10", "test", 200): "cifar10_test_200",
        ("cifar10", "valid", 200): "cifar10_valid_200",
        ("cifar100", "test", 200): "cifar100_test_200",
        ("ImageNet16-120", "test", 200): "imagenet16_test_200",
        ("cifar10", "test", 12): "cifar10_test_12",
        ("cifar10", "valid", 12): "cifar10_valid_12",
        ("cifar100", "test", 12): "cifar100_test_12",
        ("cifar100", "valid", 12): "cifar100_valid_12",
        ("ImageNet16-120", "test", 12): "imagenet16_test_12",
        ("ImageNet16-120", "valid", 12): "imagenet16_valid_12",
    }

    def __init__(self) -> None:
        from naswot_tui.core.benchmarks.embedded import load_nb201_table

        self._table = load_nb201_table()

    def column(self, dataset: str, split: str = "test", epochs: int = 200) -> np.ndarray | None:
        key = self._COLUMNS.get((dataset, split, int(epochs)))
        return None if key is None else self._table[key]

    def accuracy(self, index: int, dataset: str, split: str = "test", epochs: int = 200) -> float | None:
        col = self.column(dataset, split, epochs)
        return None if col is None else float(col[index])

    def params(self, index: int) -> float | None:
        return float(self._table["params_m"][index])

    def train_time(self, index: int, dataset: str, epochs: int = 200) -> float | None:
        return None


class Layered:
    """Ask each provider in turn; the first answer that is not None wins."""

    def __init__(self, *providers: GroundTruth | None) -> None:
        self.providers = [p for p in providers if p is not None]
        self.source = " > ".join(p.source for p in self.providers) or "none"

    def _first(self, method: str, *args: object) -> float | None:
        for p in self.providers:
            try:
                value: float | None = getattr(p, method)(*args)
            except (KeyError, IndexError, AssertionError):
                value = None  # a cut-down benchmark file without this architecture
            if value is not None:
                return value
        return None

    def accuracy(self, index: int, dataset: str, split: str = "test", epochs: int = 200) -> float | None:
        return self._first("accuracy", index, dataset, split, epochs)

    def params(self, index: int) -> float | None:
        return self._first("params", index)

    def train_time(self, index: int, dataset: str, epochs: int = 200) -> float | None:
        return self._first("train_time", index, dataset, epochs)


def ground_truth_for(space_name: str, benchmark_file: str | None = None,
                     nb101_aggregate: str = "mean", *, trust_benchmark_file: bool = False) -> GroundTruth:
    """The providers for a space: the user's benchmark file first, then what ships.

    ``nb101_aggregate`` picks NB101's ``mean`` (default) or ``max`` (the authors') over repeats.
    ``trust_benchmark_file`` opens NB201 ``.pth`` / NATS pickles with the
    official loaders, which run any code the file carries; by default they are
    read with a restricted unpickler (``safe_pickle``).
    """
    if space_name.startswith("nds-"):  # the NDS file is the space and its ground truth
        from naswot_tui.core.spaces.nds import nds_ground_truth

        return nds_ground_truth(space_name, benchmark_file)
    embedded: GroundTruth | None = EmbeddedNB201() if space_name == "nb201" else None
    if benchmark_file is None:
        return embedded or NoGroundTruth()
    from naswot_tui.core.benchmarks.adapters import open_benchmark_file

    return Layered(open_benchmark_file(space_name, Path(benchmark_file), nb101_aggregate,
                                       trust_benchmark_file=trust_benchmark_file), embedded)


__all__ = ["DATASETS", "SPLITS", "GroundTruth", "NoGroundTruth", "EmbeddedNB201", "Layered",
           "ground_truth_for", "BenchmarkError"]
