"""Adapters for the real benchmark files, through the benchmarks' own APIs.

Benchmark ``.pth`` files and NATS archives are pickles: loading one with the
official loaders can run code the file carries. By default we read them with
our restricted unpickler (``safe_pickle``) and hand the API plain dicts;
``--trust-benchmark-file`` (``trust=True``) uses the official loaders.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from naswot_tui.core.benchmarks.fast_table import NB201_KEYS as _NB201_KEYS
from naswot_tui.core.benchmarks.fast_table import FastTable
from naswot_tui.core.errors import BenchmarkError

if TYPE_CHECKING:
    from naswot_tui.core.benchmarks.nb101_tfrecord import NB101GroundTruth


class NB201StyleAPI:
    """Ground truth through a ``nas_201_api`` / ``nats_bench`` API object.

    ``full_hp`` is the benchmark's full schedule ("200" for NB201 and NATS
    topology, "90" for the NATS size space); ``epochs=12`` asks the short one.
    """

    def __init__(self, api: Any, source: str, full_hp: str = "200") -> None:
        self.api = api  # NASBench201API or a nats_bench API (both untyped)
        self.source = source
        self.full_hp = full_hp
        self._cache: dict[tuple[int, str, str], dict[str, Any]] = {}

    def _hp(self, epochs: int) -> str:
        return "12" if int(epochs) == 12 else self.full_hp

    def _info(self, index: int, api_dataset: str, hp: str) -> dict[str, Any]:
        key = (index, api_dataset, hp)
        if key not in self._cache:
            with contextlib.redirect_stdout(io.StringIO()):  # the APIs print chatter
                self._cache[key] = self.api.get_more_info(int(index), api_dataset, hp=hp, is_random=False)
        return self._cache[key]

    def accuracy(self, index: int, dataset: str, split: str = "test", epochs: int = 200) -> float | None:
        keys = _NB201_KEYS.get((dataset, split))
        if keys is None:
            return None
        api_dataset, field = keys
        value = self._info(index, api_dataset, self._hp(epochs)).get(field)
        return None if value is None else float(value)

    def params(self, index: int) -> float | None:
        with contextlib.redirect_stdout(io.StringIO()):
            info = self.api.get_cost_info(int(index), "cifar10-valid", hp=self.full_hp)
        return float(info["params"])

    def train_time(self, index: int, dataset: str, epochs: int = 200) -> float | None:
        api_dataset = "cifar10-valid" if dataset == "cifar10" else dataset
        value = self._info(index, api_dataset, self._hp(epochs)).get("train-all-time")
        return None if value is None else float(value)


def _check_nb201_dict(data: object, path: Path) -> None:
    """The keys and shapes NASBench201API needs, checked before it asserts on them."""
    if not isinstance(data, dict):
        raise BenchmarkError(f"{path} is not a NAS-Bench-201 .pth (holds a {type(data).__name__}, not a dict); "
                             "expected NAS-Bench-201-v1_*.pth")
    missing = [k for k in ("meta_archs", "arch2infos", "evaluated_indexes") if k not in data]
    if missing:
        raise BenchmarkError(f"{path} is not a NAS-Bench-201 .pth (no {', '.join(map(repr, missing))}); "
                             "expected NAS-Bench-201-v1_*.pth")
    if not isinstance(data["arch2infos"], dict) or not isinstance(data["meta_archs"], (list, tuple)):
        raise BenchmarkError(f"{path} is not a NAS-Bench-201 .pth (malformed 'meta_archs' or 'arch2infos')")
    _check_kind(data["meta_archs"], "tss", path)


def load_nb201_pth(path: Path, trust: bool = False) -> NB201StyleAPI:
    """A NAS-Bench-201 ``.pth`` through nas_201_api.

    By default the file is read by ``safe_pickle.load_pth`` (no code runs);
    ``trust=True`` uses ``torch.load(weights_only=False)`` like the official
    API (torch >= 2.6 refuses the benchmark's dicts by default).
    """
    from nas_201_api import NASBench201API

    if trust:
        import torch

        try:
            data = torch.load(str(path), map_location="cpu", weights_only=False)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise BenchmarkError(f"cannot read NAS-Bench-201 file {path}: {first}; "
                                 "expected NAS-Bench-201-v1_*.pth") from None
    else:
        from naswot_tui.core.benchmarks.safe_pickle import load_pth

        data = load_pth(path)
    _check_nb201_dict(data, path)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            api = NASBench201API(data, verbose=False)
    except (AssertionError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BenchmarkError(f"{path} is not a NAS-Bench-201 .pth the API can read ({type(exc).__name__}: "
                             f"{str(exc)[:200]})") from None
    return NB201StyleAPI(api, f"NAS-Bench-201 {path.name}", full_hp="200")


def _arch_kind(arch: object) -> str | None:
    """``tss`` for a cell string (``|op~0|+...``), ``sss`` for channels (``8:16:...``)."""
    if isinstance(arch, str):
        if arch.startswith("|") and "~" in arch:
            return "tss"
        if re.fullmatch(r"\d+(:\d+)+", arch):
            return "sss"
    return None


_KIND_WORDS = {"tss": "topology (NAS-Bench-201 / NATS-tss)", "sss": "size (NATS-sss)"}


def _check_kind(meta_archs: object, kind: str, path: Path) -> None:
    """Refuse a benchmark of the other NATS space: a tss folder for nats-sss and the reverse."""
    if not isinstance(meta_archs, (list, tuple)) or not meta_archs:
        raise BenchmarkError(f"{path}: no architecture list ('meta_archs') in the benchmark file")
    found = _arch_kind(meta_archs[0])
    if found != kind:
        what = _KIND_WORDS.get(found or "", "an unknown space")
        space = "nb201" if kind == "tss" else "nats-sss"
        other = {"tss": "--space nb201", "sss": "--space nats-sss"}.get(found or "", "the matching --space")
        raise BenchmarkError(f"{path} holds the {what} benchmark, not the one --space {space} needs; "
                             f"use {other} or a NATS-{kind}-v1_0-*-simple file")


def _safe_reload(api: Any, archive_root: str | Path | None, index: int | None = None) -> None:
    """``nats_bench``'s ``reload`` for one architecture, with our restricted unpickler.

    Mirrors ``NASBenchMetaAPI.reload`` (nats_bench 1.8): it fills
    ``arch2infos_dict[index]`` from ``NNNNNN.pickle.pbz2`` in the archive.
    """
    from nats_bench.api_utils import ArchResults

    from naswot_tui.core.benchmarks.safe_pickle import load_pbz2

    if index is None:
        raise BenchmarkError("loading every architecture at once is not supported on the safe path")
    root = Path(archive_root if archive_root is not None else api.archive_dir)
    target = root / f"{int(index):06d}.pickle.pbz2"
    if not target.is_file():
        target = root / f"{int(index)}.pickle.pbz2"
    # nats_bench asserts here too: Layered reads an AssertionError as "this file lacks the arch".
    assert target.is_file(), f"invalid data path : {target}"
    xdata = load_pbz2(target)
    if not isinstance(xdata, dict):
        raise BenchmarkError(f"{target}: not a NATS-Bench architecture file (holds a {type(xdata).__name__})")
    hp2archres: collections.OrderedDict[str, Any] = collections.OrderedDict()
    try:
        for hp_key, results in xdata.items():
            hp2archres[hp_key] = ArchResults.create_from_state_dict(results)
            api._avaliable_hps.add(hp_key)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BenchmarkError(f"{target}: malformed NATS-Bench architecture file ({type(exc).__name__}: "
                             f"{str(exc)[:200]})") from None
    api.evaluated_indexes.add(int(index))
    api.arch2infos_dict[int(index)] = hp2archres


def load_nats_dir(path: Path, kind: str, trust: bool = False) -> NB201StyleAPI:
    """A NATS-Bench ``-simple`` directory (``tss`` or ``sss``) through nats_bench.

    By default ``meta.pickle.pbz2`` and each architecture file are read with
    ``safe_pickle.load_pbz2`` and handed to the API as plain dicts;
    ``trust=True`` lets ``nats_bench`` unpickle them itself.
    """
    import nats_bench

    if not (path / "meta.pickle.pbz2").is_file():
        raise BenchmarkError(
            f"{path} has no meta.pickle.pbz2; expected a NATS-Bench -simple directory "
            f"such as NATS-{kind}-v1_0-*-simple"
        )
    if trust:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                api = nats_bench.create(str(path), kind, fast_mode=True, verbose=False)
        except Exception as exc:  # noqa: BLE001
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise BenchmarkError(f"cannot open NATS-Bench directory {path}: {first}") from None
        _check_kind(api.meta_archs, kind, path)
    else:
        from naswot_tui.core.benchmarks.safe_pickle import load_pbz2

        meta = load_pbz2(path / "meta.pickle.pbz2")
        if not isinstance(meta, dict) or "meta_archs" not in meta:
            raise BenchmarkError(
                f"{path}/meta.pickle.pbz2 has no 'meta_archs'; expected a NATS-Bench -simple directory")
        _check_kind(meta["meta_archs"], kind, path)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                # The dict form loads nothing from disk; the archive is then read one
                # architecture at a time through _safe_reload (fast mode).
                api = nats_bench.create({"meta_archs": list(meta["meta_archs"]), "arch2infos": {},
                                         "evaluated_indexes": set()}, kind, fast_mode=True, verbose=False)
        except (ValueError, TypeError) as exc:
            raise BenchmarkError(f"{path}/meta.pickle.pbz2: malformed architecture list ({exc})") from None
        api.reset_archive_dir(str(path))
        api.reset_fast_mode(True)
        api.reload = functools.partial(_safe_reload, api)  # the instance's loader, not nats_bench's pickle.load
    return NB201StyleAPI(api, f"NATS-Bench {kind} {path.name}", full_hp="90" if kind == "sss" else "200")


def open_benchmark_file(space_name: str, path: Path, nb101_aggregate: str = "mean",
                        trust_benchmark_file: bool = False) -> FastTable | NB101GroundTruth:
    """Open the user's benchmark file for ``space_name``, or raise BenchmarkError.

    ``nb101_aggregate``: ``mean`` (default) or ``max`` over NB101's three repeats.
    ``trust_benchmark_file``: read NB201 / NATS pickles with the official
    loaders (which run whatever code the file carries) instead of ours.
    """
    trust = bool(trust_benchmark_file)
    if not path.exists():
        raise BenchmarkError(f"benchmark file {path} does not exist; pass an existing --benchmark-file or omit it")
    # NB201 / NATS: the API runs once per file; later opens load a cached fast table (fast_table.py).
    from naswot_tui.core.benchmarks.fast_table import cached_table

    if space_name == "nb201":
        if path.is_dir():
            return cached_table(path, "nats-tss", lambda: load_nats_dir(path, "tss", trust))
        return cached_table(path, "nb201", lambda: load_nb201_pth(path, trust))
    if space_name == "nats-sss":
        if not path.is_dir():
            raise BenchmarkError(f"{path}: the NATS size space needs a NATS-sss-v1_0-*-simple directory")
        return cached_table(path, "nats-sss", lambda: load_nats_dir(path, "sss", trust))
    if space_name == "nb101":
        if path.is_dir():
            raise BenchmarkError(f"{path}: NAS-Bench-101 needs the nasbench_only108.tfrecord (or nasbench_full) file")
        from naswot_tui.core.benchmarks.nb101_tfrecord import open_nb101

        return open_nb101(path, nb101_aggregate)
    raise BenchmarkError(f"space {space_name!r} takes no --benchmark-file of this kind ({path})")
