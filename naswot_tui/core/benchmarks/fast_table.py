"""Benchmarks as fast tables: extract once, then load in milliseconds.

The official APIs need minutes and many GB to open a NAS-Bench-201 ``.pth``
or to walk a NATS-Bench ``-simple`` directory. The first time a file is
used we query it through its own API (``adapters.NB201StyleAPI``) for what
the tool needs, per architecture:

- accuracy on each evaluation set of each dataset (``valid-accuracy``,
  ``test-accuracy``) at the 12-epoch and the full schedule;
- training time (``train-all-time``) at both schedules;
- params and FLOPs per dataset (the benchmark's ``get_cost_info``),

and write them to one compressed ``.npz`` of plain arrays (no pickle:
loaded with ``allow_pickle=False``) in ``<cache dir>/benchmarks/``. The
source's size and mtime (for a directory: file count, total size and the
newest mtime) are recorded in it; a later open whose source still matches
loads the table and never touches the API. Architectures the file lacks (a
cut-down benchmark) are NaN, which reads as "unknown".
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "naswot-fast-table/1"
API_DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
FIELDS = ("valid-accuracy", "test-accuracy", "train-all-time")
# NB201 API dataset names for (dataset, split): the keys the paper used (adapters.py reads them too).
NB201_KEYS = {
    ("cifar10", "test"): ("cifar10", "test-accuracy"),           # ori-test
    ("cifar10", "valid"): ("cifar10-valid", "valid-accuracy"),   # x-valid
    ("cifar100", "test"): ("cifar100", "test-accuracy"),         # x-test
    ("cifar100", "valid"): ("cifar100", "valid-accuracy"),       # x-valid
    ("ImageNet16-120", "test"): ("ImageNet16-120", "test-accuracy"),
    ("ImageNet16-120", "valid"): ("ImageNet16-120", "valid-accuracy"),
}
_ARCH_FILE = re.compile(r"^(\d{6})\.pickle(\.pbz2)?$")

Progress = Callable[[int, int], None]


def source_signature(path: Path) -> dict[str, Any]:
    """What identifies the source's contents cheaply: size and mtime."""
    path = Path(path)
    if path.is_dir():
        count = total = newest = 0
        with os.scandir(path) as entries:
            for e in entries:
                if e.is_file():
                    st = e.stat()
                    count, total, newest = count + 1, total + st.st_size, max(newest, st.st_mtime_ns)
        return {"kind": "dir", "files": count, "size": total, "mtime_ns": newest}
    st = path.stat()
    return {"kind": "file", "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def cache_path(source: Path, kind: str) -> Path:
    from naswot_tui.core.paths import default_cache_dir

    digest = hashlib.sha1(str(Path(source).resolve()).encode()).hexdigest()[:16]
    return default_cache_dir() / "benchmarks" / f"{kind}-{Path(source).name}-{digest}.npz"


def _col(kind: str, dataset: str, field: str, hp: str) -> str:
    return f"{kind}__{dataset}__{field}__{hp}"


class FastTable:
    """Ground truth (``GroundTruth`` protocol) read from a fast table."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], path: Path | None = None) -> None:
        self.arrays, self.meta, self.path = arrays, meta, path
        self.full_hp: str = meta["full_hp"]
        self.source = f"{meta['api_source']} (fast table)"
        self.size = len(arrays["archs"])

    # -- lookups
    def _value(self, key: str, index: int) -> float | None:
        col = self.arrays.get(key)
        if col is None or not 0 <= int(index) < len(col):
            return None
        value = float(col[int(index)])
        return None if np.isnan(value) else value

    def _hp(self, epochs: int) -> str:
        return "12" if int(epochs) == 12 else self.full_hp

    def arch(self, index: int) -> str:
        return str(self.arrays["archs"][int(index)])

    def accuracy(self, index: int, dataset: str, split: str = "test", epochs: int = 200) -> float | None:
        keys = NB201_KEYS.get((dataset, split))
        if keys is None:
            return None
        api_dataset, field = keys
        return self._value(_col("acc", api_dataset, field, self._hp(epochs)), index)

    def params(self, index: int, dataset: str = "cifar10-valid") -> float | None:
        return self._value(_col("cost", dataset, "params", self.full_hp), index)

    def flops(self, index: int, dataset: str = "cifar10-valid") -> float | None:
        return self._value(_col("cost", dataset, "flops", self.full_hp), index)

    def train_time(self, index: int, dataset: str, epochs: int = 200) -> float | None:
        api_dataset = "cifar10-valid" if dataset == "cifar10" else dataset
        return self._value(_col("acc", api_dataset, "train-all-time", self._hp(epochs)), index)

    @property
    def available(self) -> np.ndarray:
        return self.arrays["available"]


# ------------------------------------------------------------------ extraction


def _available_indices(api: Any, n: int) -> list[int]:
    archive = getattr(api, "archive_dir", None) if getattr(api, "fast_mode", False) else None
    if archive:  # NATS fast mode: one file per architecture
        found = []
        for name in os.listdir(archive):
            m = _ARCH_FILE.match(name)
            if m and int(m.group(1)) < n:
                found.append(int(m.group(1)))
        return sorted(found)
    return sorted(int(k) for k in api.arch2infos_dict)


def _stderr_progress(label: str) -> Progress | None:
    if not sys.stderr.isatty():
        return None
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] > 0.2:
            last[0] = now
            sys.stderr.write(f"\r{label}: {done}/{total} architectures" + ("\n" if done == total else ""))
            sys.stderr.flush()

    return report


def extract(wrapper: Any, progress: Progress | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Query every available architecture of an ``adapters.NB201StyleAPI`` into arrays.

    (Typed Any: adapters imports this module, so this one cannot import it back.)
    """
    api = wrapper.api
    archs = [str(a) for a in api.meta_archs]
    n = len(archs)
    hps = sorted({"12", wrapper.full_hp})
    arrays: dict[str, np.ndarray] = {"archs": np.array(archs), "available": np.zeros(n, dtype=bool)}
    for ds in API_DATASETS:
        for hp in hps:
            for field in FIELDS:
                arrays[_col("acc", ds, field, hp)] = np.full(n, np.nan)
        for field in ("params", "flops"):
            arrays[_col("cost", ds, field, wrapper.full_hp)] = np.full(n, np.nan)
    indices = _available_indices(api, n)
    fast = bool(getattr(api, "fast_mode", False))
    for done, index in enumerate(indices, start=1):
        with contextlib.redirect_stdout(io.StringIO()):  # the APIs print chatter
            for ds in API_DATASETS:
                _query_dataset(api, index, ds, hps, wrapper.full_hp, arrays)
        arrays["available"][index] = True
        if fast:
            api.arch2infos_dict.pop(index, None)  # keep memory flat while walking a big directory
        if progress:
            progress(done, len(indices))
    meta = {"format": FORMAT, "api_source": wrapper.source, "full_hp": wrapper.full_hp,
            "n_archs": n, "n_available": len(indices)}
    return arrays, meta


def _query_dataset(api: Any, index: int, ds: str, hps: list[str], full_hp: str, arrays: dict[str, np.ndarray]) -> None:
    """Fill ``arrays`` with one architecture's accuracies and costs on dataset ``ds``."""
    for hp in hps:
        try:
            info = api.get_more_info(index, ds, hp=hp, is_random=False)
        except Exception:  # noqa: BLE001 - this dataset/schedule is not in the file
            continue
        for field in FIELDS:
            if info.get(field) is not None:
                arrays[_col("acc", ds, field, hp)][index] = float(info[field])
    try:
        cost = api.get_cost_info(index, ds, hp=full_hp)
    except Exception:  # noqa: BLE001 - no cost record for this dataset
        return
    for field in ("params", "flops"):
        if cost.get(field) is not None:
            arrays[_col("cost", ds, field, full_hp)][index] = float(cost[field])


def save(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    # numpy's stubs fear that **arrays could fill allow_pickle (a bool); our keys are column names.
    np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)  # type: ignore[arg-type]
    os.replace(tmp, path)  # readers never see a half-written table


def load(path: Path) -> FastTable:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "meta"}
        meta = json.loads(str(npz["meta"]))
    return FastTable(arrays, meta, path)


def cached_table(source: Path, kind: str, open_api: Callable[[], object],
                 progress: Progress | None = None) -> FastTable:
    """The fast table of ``source``: loaded from the cache when the source is
    unchanged (same size and mtime), else extracted through ``open_api()``."""
    source = Path(source)
    signature = source_signature(source)
    path = cache_path(source, kind)
    if path.is_file():
        try:
            table = load(path)
            if table.meta.get("format") == FORMAT and table.meta.get("source") == signature:
                return table
        except (OSError, ValueError, KeyError):
            pass  # unreadable or stale: rebuild
    wrapper = open_api()
    arrays, meta = extract(wrapper, progress or _stderr_progress(f"indexing {source.name}"))
    meta.update(source=signature, source_path=str(source.resolve()), kind=kind)
    with contextlib.suppress(OSError):  # a read-only cache only costs speed next time
        save(path, arrays, meta)
    return FastTable(arrays, meta, path)
