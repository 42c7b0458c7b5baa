"""Adapters for the real benchmark files, through the benchmarks' own APIs.

Benchmark ``.pth`` files and NATS archives are pickles: loading one can run
code. We only ever open a file the user named with ``--benchmark-file``.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from naswot_tui.core.benchmarks.fast_table import NB201_KEYS as _NB201_KEYS
from naswot_tui.core.errors import BenchmarkError


class NB201StyleAPI:
    """Ground truth through a ``nas_201_api`` / ``nats_bench`` API object.

    ``full_hp`` is the benchmark's full schedule ("200" for NB201 and NATS
    topology, "90" for the NATS size space); ``epochs=12`` asks the short one.
    """

    def __init__(self, api, source: str, full_hp: str = "200") -> None:
        self.api = api
        self.source = source
        self.full_hp = full_hp
        self._cache: dict[tuple, dict] = {}

    def _hp(self, epochs: int) -> str:
        return "12" if int(epochs) == 12 else self.full_hp

    def _info(self, index: int, api_dataset: str, hp: str) -> dict:
        key = (index, api_dataset, hp)
        if key not in self._cache:
            with contextlib.redirect_stdout(io.StringIO()):  # the APIs print chatter
                self._cache[key] = self.api.get_more_info(int(index), api_dataset, hp=hp, is_random=False)
        return self._cache[key]

    def accuracy(self, index, dataset, split="test", epochs=200):
        keys = _NB201_KEYS.get((dataset, split))
        if keys is None:
            return None
        api_dataset, field = keys
        value = self._info(index, api_dataset, self._hp(epochs)).get(field)
        return None if value is None else float(value)

    def params(self, index):
        with contextlib.redirect_stdout(io.StringIO()):
            info = self.api.get_cost_info(int(index), "cifar10-valid", hp=self.full_hp)
        return float(info["params"])

    def train_time(self, index, dataset, epochs=200):
        api_dataset = "cifar10-valid" if dataset == "cifar10" else dataset
        value = self._info(index, api_dataset, self._hp(epochs)).get("train-all-time")
        return None if value is None else float(value)


def load_nb201_pth(path: Path) -> NB201StyleAPI:
    """A NAS-Bench-201 ``.pth`` through nas_201_api.

    torch >= 2.6 defaults to ``weights_only=True``, which refuses the
    benchmark's pickled dicts, so we load it ourselves and hand the dict over.
    """
    import torch
    from nas_201_api import NASBench201API

    try:
        data = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
        raise BenchmarkError(f"cannot read NAS-Bench-201 file {path}: {exc}; expected NAS-Bench-201-v1_*.pth") from exc
    if not isinstance(data, dict) or "meta_archs" not in data:
        raise BenchmarkError(f"{path} is not a NAS-Bench-201 .pth (no 'meta_archs'); expected NAS-Bench-201-v1_*.pth")
    with contextlib.redirect_stdout(io.StringIO()):
        api = NASBench201API(data, verbose=False)
    return NB201StyleAPI(api, f"NAS-Bench-201 {path.name}", full_hp="200")


def load_nats_dir(path: Path, kind: str) -> NB201StyleAPI:
    """A NATS-Bench ``-simple`` directory (``tss`` or ``sss``) through nats_bench."""
    import nats_bench

    if not (path / "meta.pickle.pbz2").is_file():
        raise BenchmarkError(
            f"{path} has no meta.pickle.pbz2; expected a NATS-Bench -simple directory "
            f"such as NATS-{kind}-v1_0-*-simple"
        )
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            api = nats_bench.create(str(path), kind, fast_mode=True, verbose=False)
    except Exception as exc:  # noqa: BLE001
        raise BenchmarkError(f"cannot open NATS-Bench directory {path}: {exc}") from exc
    return NB201StyleAPI(api, f"NATS-Bench {kind} {path.name}", full_hp="90" if kind == "sss" else "200")


def open_benchmark_file(space_name: str, path: Path, nb101_aggregate: str = "mean"):
    """Open the user's benchmark file for ``space_name``, or raise BenchmarkError.

    ``nb101_aggregate``: ``mean`` (default) or ``max`` over NB101's three repeats.
    """
    if not path.exists():
        raise BenchmarkError(f"benchmark file {path} does not exist; pass an existing --benchmark-file or omit it")
    # NB201 / NATS: the API runs once per file; later opens load a cached fast table (fast_table.py).
    from naswot_tui.core.benchmarks.fast_table import cached_table

    if space_name == "nb201":
        if path.is_dir():
            return cached_table(path, "nats-tss", lambda: load_nats_dir(path, "tss"))
        return cached_table(path, "nb201", lambda: load_nb201_pth(path))
    if space_name == "nats-sss":
        if not path.is_dir():
            raise BenchmarkError(f"{path}: the NATS size space needs a NATS-sss-v1_0-*-simple directory")
        return cached_table(path, "nats-sss", lambda: load_nats_dir(path, "sss"))
    if space_name == "nb101":
        if path.is_dir():
            raise BenchmarkError(f"{path}: NAS-Bench-101 needs the nasbench_only108.tfrecord (or nasbench_full) file")
        from naswot_tui.core.benchmarks.nb101_tfrecord import open_nb101

        return open_nb101(path, nb101_aggregate)
    raise BenchmarkError(f"space {space_name!r} takes no --benchmark-file of this kind ({path})")
