"""The NDS design spaces (Radosavovic et al. 2019): one space per NDS json file.

An NDS space *is* its file: the networks NDS sampled and trained. So every
``nds-*`` space needs ``--benchmark-file <sweep>.json`` from the NDS release
(https://dl.fbaipublicfiles.com/nds/data.zip, facebookresearch/nds).

- ``size``: the number of usable entries in the file (malformed ones are
  skipped and reported by file position);
- ``index``: position among the usable entries, in NASWOT's order (``top``
  then ``mid`` for the rerun files). With no malformed entries this is the
  entry's position in the file, the ``uid`` of the authors' code;
- architecture string: the compact sorted-key JSON of the entry's ``net``
  (the NDS notebooks' identity of a network), so a trace alone can rebuild
  the network. ``index()`` also accepts ``#N``. Several entries can share a
  ``net`` (reruns, seeds); ``index()`` returns the first;
- ``mutate``: a random *other* entry at the smallest Hamming distance over
  the net's tokens (genotype ops and inputs, width, depth; AnyNet list
  elements); the file is a fixed sample, so a one-choice neighbour usually
  does not exist and this is the nearest thing to it;
- ground truth: ``100 - test_ep_top1[-1]`` (final-epoch test accuracy), for
  ``cifar10`` (or ``imagenet`` for ``_in`` spaces), test split only; the
  ``epochs`` argument is ignored (each file has one schedule).
"""

from __future__ import annotations

import json
import warnings
from functools import cached_property
from typing import Any

import numpy as np
from torch import nn

from naswot_tui.core.benchmarks.nds_json import NDSTable, NDSWarning, canonical_net, load_nds_table, net_problem
from naswot_tui.core.errors import BenchmarkError, UsageError
from naswot_tui.core.spaces.base import SearchSpace
from naswot_tui.core.spaces.nds_registry import DATA_URL, PRIMARY, SWEEPS, cell_ops_of, family_of, space_name


def sweep_of(name: str) -> str:
    for sweep in SWEEPS:
        if space_name(sweep) == name:
            return sweep
    raise UsageError(f"unknown NDS space {name!r}")


def missing_file_message(name: str, sweep: str) -> str:
    return (f"space {name} needs the NDS file {sweep}.json: download {DATA_URL} (facebookresearch/nds), "
            f"unzip it and pass --benchmark-file /path/to/{sweep}.json")


class NDSSpace(SearchSpace):
    """One NDS sweep file as a search space (see the module docstring)."""

    def __init__(self, benchmark_file: str | None = None, sweep: str = "DARTS"):
        if sweep not in SWEEPS:
            raise UsageError(f"unknown NDS sweep {sweep!r}; choose one of: {', '.join(SWEEPS)}")
        self.sweep = sweep
        self.name = space_name(sweep)
        self.imagenet = sweep.endswith("_in")
        self.family = family_of(sweep)
        self.dataset = "imagenet" if self.imagenet else "cifar10"
        self.datasets = (self.dataset,)
        self.image_size = 224 if self.imagenet else 32
        self.input_size = (3, self.image_size, self.image_size)
        kind = "cell-based" if self.family == "cell" else f"AnyNet ({self.family})"
        self.description = f"NDS {sweep} ({kind}, {'ImageNet' if self.imagenet else 'CIFAR-10'}), from {sweep}.json"
        if not benchmark_file:
            raise BenchmarkError(missing_file_message(self.name, sweep))
        self.table: NDSTable = load_nds_table(benchmark_file)
        self.benchmark_file = str(benchmark_file)
        # Rows of another family, or cells using ops outside this space's vocabulary, mean the
        # wrong file for this space (or a mixed file).
        vocabulary = cell_ops_of(sweep)
        reasons: list[str | None] = []
        for r, fam in enumerate(self.table.families):
            if fam != self.family:
                reasons.append(f"a {fam} network, not {self.family}")
            elif vocabulary is not None:
                foreign = sorted(_genotype_ops(self.table.nets[r]) - vocabulary)
                reasons.append(f"uses {', '.join(foreign)}, not in the {sweep.split('_')[0]} space"
                               if foreign else None)
            else:
                reasons.append(None)
        match = np.array([why is None for why in reasons], dtype=bool)
        self.rows = np.flatnonzero(match)
        self.skipped = list(self.table.skipped) + [
            (int(self.table.file_index[r]), reasons[r]) for r in np.flatnonzero(~match)
        ]
        if len(self.rows) == 0:
            found = sorted(set(self.table.families))
            hint = f" (it holds {', '.join(found)} networks)" if found else " (no usable entries)"
            if found == [self.family] and self.skipped:
                hint = f" (its entries {self.skipped[-1][1]})"
            raise BenchmarkError(f"{benchmark_file} is not an NDS {sweep} file{hint}; "
                                 f"pass {sweep}.json from {DATA_URL} or choose the matching --space")
        if len(self.rows) < len(self.table):
            warnings.warn(f"{benchmark_file}: {len(self.table) - len(self.rows)} entries are not {sweep} "
                          f"networks and were skipped", NDSWarning, stacklevel=2)

    # ---------------------------------------------------------- interface

    @property
    def size(self) -> int:
        return len(self.rows)

    def arch(self, index: int) -> str:
        return self.table.nets[int(self.rows[self._check_index(index)])]

    @cached_property
    def _lookup(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for i, r in enumerate(self.rows):
            out.setdefault(self.table.nets[r], i)
        return out

    def parse(self, arch: str) -> dict[str, Any]:
        """The ``net`` object of an architecture string; UsageError when it cannot be built."""
        try:
            net = json.loads(arch)
        except (TypeError, ValueError, RecursionError):  # RecursionError: nested thousands deep
            raise UsageError(f"{self.name}: architecture must be the JSON of an NDS 'net' object, "
                             f"got {arch!r:.80}") from None
        why, family = net_problem(net)
        if why is None and family != self.family:
            why = f"a {family} network, not {self.family}"
        if why is not None:
            raise UsageError(f"{self.name}: malformed architecture: {why}")
        checked: dict[str, Any] = net  # net_problem found a buildable 'net' object
        return checked

    def index(self, arch: str) -> int:
        text = arch.strip()
        head, sep, tail = text.rpartition("#")
        if sep and tail.isascii() and tail.isdigit() and head in ("", self.name):
            return self._check_index(int(tail))
        key = canonical_net(self.parse(text))
        try:
            return self._lookup[key]
        except KeyError:
            raise UsageError(f"{self.name}: this network is not in {self.benchmark_file}") from None

    def build(self, arch: str, num_classes: int = 1) -> nn.Module:
        return build_nds_network(self.parse(arch), self.imagenet, num_classes)

    def num_classes(self, dataset: str) -> int:
        return 1000 if dataset.lower() == "imagenet" else 10

    # ---------------------------------------------------------- mutation

    @cached_property
    def _tokens(self) -> np.ndarray:
        """One row of int tokens per entry (padded with -1) for Hamming distances."""
        vocab: dict[str, int] = {}
        seqs = [[vocab.setdefault(t, len(vocab)) for t in _net_tokens(json.loads(self.table.nets[r]))]
                for r in self.rows]
        width = max(len(s) for s in seqs)
        out = np.full((len(seqs), width), -1, dtype=np.int32)
        for i, s in enumerate(seqs):
            out[i, : len(s)] = s
        return out

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        index = self._check_index(index)
        if self.size < 2:
            return index
        dist = (self._tokens != self._tokens[index]).sum(axis=1)
        dist[dist == 0] = np.iinfo(dist.dtype).max  # itself and identical nets are not mutations
        best = dist.min()
        if best == np.iinfo(dist.dtype).max:  # every entry is the same network
            choices = np.array([i for i in range(self.size) if i != index])
        else:
            choices = np.flatnonzero(dist == best)
        return int(choices[int(rng.integers(len(choices)))])

    # ---------------------------------------------------------- ground truth

    def accuracy(self, index: int, dataset: str | None = None, split: str = "test",
                 epochs: int | None = None) -> float | None:
        if split != "test" or (dataset is not None and dataset.lower() != self.dataset):
            return None
        return float(self.table.acc[self.rows[self._check_index(index)]])

    def best_accuracy(self, index: int) -> float:
        return float(self.table.best_acc[self.rows[self._check_index(index)]])

    def params_raw(self, index: int) -> float | None:
        v = self.table.params[self.rows[self._check_index(index)]]
        return None if np.isnan(v) else float(v)

    def flops_raw(self, index: int) -> float | None:
        v = self.table.flops[self.rows[self._check_index(index)]]
        return None if np.isnan(v) else float(v)

    def file_index(self, index: int) -> int:
        return int(self.table.file_index[self.rows[self._check_index(index)]])


def _net_tokens(net: dict[str, Any]) -> list[str]:
    if "genotype" in net:
        g = net["genotype"]
        toks = [f"w{net['width']}", f"d{net['depth']}"]
        for part in ("normal", "reduce"):
            toks += [f"{part[0]}{k}:{op}@{src}" for k, (op, src) in enumerate(g[part])]
            toks.append(f"{part[0]}c:" + ",".join(map(str, sorted(g[part + "_concat"]))))
        return toks
    toks = []
    for key in ("ds", "ws", "ss", "bot_muls", "num_gs"):
        toks += [f"{key}{k}:{v}" for k, v in enumerate(net.get(key) or [])]
    return toks


def build_nds_network(net: dict[str, Any], imagenet: bool = False, num_classes: int = 1) -> nn.Module:
    """The network NDS trained for ``net`` (no auxiliary head, no drop path).

    Exceptions (including out-of-memory) propagate: the engine records them
    against the architecture.
    """
    if "genotype" in net:
        from naswot_tui.core.spaces.nds_ops import build_cell_network

        return build_cell_network(net, imagenet=imagenet, num_classes=num_classes)
    from naswot_tui.core.spaces.nds_anynet import build_anynet

    return build_anynet(net, imagenet=imagenet, num_classes=num_classes)


class NDSGroundTruth:
    """GroundTruth for an NDS space: the file's final test accuracy and params (millions)."""

    def __init__(self, space: NDSSpace):
        self.space = space
        self.source = f"NDS {space.sweep} ({space.benchmark_file})"

    def accuracy(self, index: int, dataset: str, split: str = "test", epochs: int = 200) -> float | None:
        return self.space.accuracy(index, dataset, split)

    def params(self, index: int) -> float | None:
        v = self.space.params_raw(index)
        return None if v is None else v / 1e6

    def flops(self, index: int) -> float | None:
        v = self.space.flops_raw(index)
        return None if v is None else v / 1e6

    def train_time(self, index: int, dataset: str, epochs: int = 200) -> float | None:
        return None  # NDS stores seconds per iteration, not the batch count needed for a total


def nds_ground_truth(name: str, benchmark_file: str | None) -> NDSGroundTruth:
    """Ground truth of the NDS space ``name`` (BenchmarkError without the file)."""
    from naswot_tui.core.spaces import resolve_name

    return NDSGroundTruth(NDSSpace(benchmark_file=benchmark_file, sweep=sweep_of(resolve_name(name))))


__all__ = ["NDSSpace", "NDSGroundTruth", "SWEEPS", "PRIMARY", "build_nds_network", "nds_ground_truth",
           "space_name", "sweep_of"]


def _genotype_ops(net_json: str) -> set[str]:
    """The op names a cell entry's genotype uses (from its canonical ``net`` JSON)."""
    genotype = json.loads(net_json).get("genotype") or {}
    return {str(pair[0]) for key in ("normal", "reduce") for pair in genotype.get(key, [])}
