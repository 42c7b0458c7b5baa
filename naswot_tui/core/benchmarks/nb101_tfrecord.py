"""NAS-Bench-101 ``.tfrecord`` files read without TensorFlow (docs/formats.md §1.2-1.5).

Each record's payload is a JSON array ``[hash, epochs, adjacency bits,
"input,...,output", base64 ModelMetrics]``. We decode the protobuf with a
small wire-format reader, keep the 108-epoch runs, and convert the file once
into a compact ``.npz`` table (plain arrays, no pickles) in the cache folder
(``$NASWOT_TUI_CACHE_DIR`` or the platform cache dir), keyed by the file's
path, size and modification time. Later runs load the table in well under a
second.

Table rows are modules in order of first appearance in the file, which is
the index order the NASWOT reference used (position in ``hash_iterator()``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from naswot_tui.core.benchmarks.tfrecord import read_records
from naswot_tui.core.errors import BenchmarkError

TABLE_VERSION = 1
NUM_REPEATS = 3
AGGREGATES = ("mean", "max")
# Interior op label -> hash label (the benchmark's available_ops order).
_OP_CODE = {"conv3x3-bn-relu": 0, "conv1x1-bn-relu": 1, "maxpool3x3": 2}


# ------------------------------------------------------------ protobuf


class ProtoError(ValueError):
    pass


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtoError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtoError("varint too long")


def parse_fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """Every (field number, wire type, value) of one message, in order.

    Varints come back as ints, fixed64/fixed32 as raw bytes, length-delimited
    fields as bytes. Unknown fields are kept so callers can skip them.
    """
    fields: list[tuple[int, int, int | bytes]] = []
    pos = 0
    n = len(buf)
    while pos < n:
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise ProtoError("field number 0")
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            if pos + 8 > n:
                raise ProtoError("truncated fixed64")
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > n:
                raise ProtoError("truncated length-delimited field")
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 5:
            if pos + 4 > n:
                raise ProtoError("truncated fixed32")
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ProtoError(f"unsupported wire type {wire}")
        fields.append((number, wire, value))
    return fields


_EVAL_FIELDS = {1: "current_epoch", 2: "training_time", 3: "train_accuracy",
                4: "validation_accuracy", 5: "test_accuracy"}


def decode_model_metrics(buf: bytes) -> dict[str, Any]:
    """``ModelMetrics`` -> {'evaluation_data': [dict, ...], 'trainable_parameters', 'total_time'}."""
    out: dict[str, Any] = {"evaluation_data": [], "trainable_parameters": 0, "total_time": 0.0}
    # The wire type fixes the value's type (0: int, 1/2/5: bytes); the isinstance checks say so to mypy.
    for number, wire, value in parse_fields(buf):
        if number == 1 and wire == 2 and isinstance(value, bytes):
            entry: dict[str, float | str] = {name: 0.0 for name in _EVAL_FIELDS.values()}
            entry["checkpoint_path"] = ""
            for n2, w2, v2 in parse_fields(value):
                if n2 in _EVAL_FIELDS and w2 == 1 and isinstance(v2, bytes):
                    entry[_EVAL_FIELDS[n2]] = struct.unpack("<d", v2)[0]
                elif n2 == 6 and w2 == 2 and isinstance(v2, bytes):
                    entry["checkpoint_path"] = v2.decode("utf-8", "replace")
            out["evaluation_data"].append(entry)
        elif number == 2 and wire == 0 and isinstance(value, int):
            # int32 on the wire: negative values are 10-byte two's complement
            out["trainable_parameters"] = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 3 and wire == 1 and isinstance(value, bytes):
            out["total_time"] = struct.unpack("<d", value)[0]
    return out


# ------------------------------------------------------------ records


@dataclass
class Record:
    module_hash: str
    epochs: int
    adjacency: str
    operations: list[str]
    metrics: dict[str, Any]


def decode_payload(payload: bytes) -> Record:
    """One record's JSON payload; raises ValueError describing what is wrong."""
    try:
        items = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"payload is not JSON ({exc})") from None
    if not isinstance(items, list) or len(items) != 5:
        raise ValueError("payload is not a JSON array of five items")
    module_hash, epochs, adjacency, operations, metrics_b64 = items
    if not (isinstance(module_hash, str) and len(module_hash) == 32):
        raise ValueError(f"module hash {module_hash!r} is not 32 hex digits")
    if not isinstance(epochs, int) or isinstance(epochs, bool):
        raise ValueError(f"epochs {epochs!r} is not an integer")
    if not isinstance(adjacency, str) or not isinstance(operations, str) or not isinstance(metrics_b64, str):
        raise ValueError("adjacency, operations and metrics must be strings")
    v = int(round(len(adjacency) ** 0.5))
    if v * v != len(adjacency) or not 2 <= v <= 7 or set(adjacency) - {"0", "1"}:
        raise ValueError(f"adjacency {adjacency!r} is not a V*V 0/1 string with 2 <= V <= 7")
    ops = operations.split(",")
    if len(ops) != v or ops[0] != "input" or ops[-1] != "output" or any(o not in _OP_CODE for o in ops[1:-1]):
        raise ValueError(f"operations {operations!r} do not match the {v}-vertex adjacency")
    try:
        raw = base64.b64decode(metrics_b64, validate=True)
        metrics = decode_model_metrics(raw)
    except (binascii.Error, ProtoError) as exc:
        raise ValueError(f"metrics are not a base64 ModelMetrics protobuf ({exc})") from None
    return Record(module_hash, epochs, adjacency, ops, metrics)


# ------------------------------------------------------------ conversion


def convert(path: Path, epochs: int = 108, progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Stream ``path`` and build the table arrays (see ``NB101Table``)."""
    path = Path(path)
    total = path.stat().st_size
    done = [0]

    def on_bytes(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(min(done[0], total), total)

    order: dict[str, int] = {}
    fixed: list[tuple[str, int]] = []   # adjacency bits, params
    ops_rows: list[list[str]] = []
    runs: list[list[tuple[float, float, float, float]]] = []  # test, valid, train time, train acc
    n_records = 0
    for offset, payload in read_records(path, progress=on_bytes):
        n_records += 1
        try:
            rec = decode_payload(payload)
        except ValueError as exc:
            raise BenchmarkError(f"{path.name}: record at byte offset {offset} is not a NAS-Bench-101 record: "
                                 f"{exc}") from None
        row = order.get(rec.module_hash)
        if row is None:
            row = order[rec.module_hash] = len(fixed)
            fixed.append((rec.adjacency, int(rec.metrics["trainable_parameters"])))
            ops_rows.append(rec.operations)
            runs.append([])
        if rec.epochs != epochs:
            continue
        evals = rec.metrics["evaluation_data"]
        if len(evals) < 3:
            raise BenchmarkError(
                f"{path.name}: record at byte offset {offset} has {len(evals)} evaluation(s); "
                f"NAS-Bench-101 records have 3 (start, halfway, final)"
            )
        final = evals[2]
        runs[row].append((final["test_accuracy"], final["validation_accuracy"],
                          final["training_time"], final["train_accuracy"]))
    if not fixed:
        raise BenchmarkError(f"{path.name}: no records; expected nasbench_only108.tfrecord or nasbench_full.tfrecord")
    m = len(fixed)
    hashes = np.array(list(order), dtype="S32")
    nverts = np.zeros(m, dtype=np.uint8)
    matrices = np.zeros((m, 7, 7), dtype=np.uint8)
    ops = np.full((m, 7), -3, dtype=np.int8)  # -1 input, -2 output, 0..2 ops, -3 unused
    params = np.zeros(m, dtype=np.int64)
    test = np.full((m, NUM_REPEATS), np.nan)
    valid = np.full((m, NUM_REPEATS), np.nan)
    train_time = np.full((m, NUM_REPEATS), np.nan)
    train_acc = np.full((m, NUM_REPEATS), np.nan)
    for i, ((bits, n_params), labels, rows) in enumerate(zip(fixed, ops_rows, runs, strict=True)):
        v = len(labels)
        nverts[i] = v
        matrices[i, :v, :v] = np.frombuffer(bits.encode(), dtype=np.uint8).reshape(v, v) - ord("0")
        ops[i, :v] = [-1] + [_OP_CODE[o] for o in labels[1:-1]] + [-2]
        params[i] = n_params
        for r, (te, va, tt, ta) in enumerate(rows[:NUM_REPEATS]):
            test[i, r], valid[i, r], train_time[i, r], train_acc[i, r] = te, va, tt, ta
    return {
        "version": np.array([TABLE_VERSION]), "epochs": np.array([epochs]), "records": np.array([n_records]),
        "hashes": hashes, "nverts": nverts, "matrices": matrices, "ops": ops, "params": params,
        "test": test, "valid": valid, "train_time": train_time, "train_acc": train_acc,
    }


def cache_path(path: Path, epochs: int = 108) -> Path:
    """Where the converted table of ``path`` lives (beside the score cache)."""
    from naswot_tui.core.paths import default_cache_dir

    st = Path(path).stat()
    key = f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}|{epochs}|v{TABLE_VERSION}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    return default_cache_dir() / "nb101" / f"{Path(path).stem}-{digest}.npz"


def _stderr_progress() -> Callable[[int, int], None] | None:
    """A one-line progress bar on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        return None
    last = [-1]

    def show(done: int, total: int) -> None:
        pct = int(100 * done / max(total, 1))
        if pct != last[0]:
            last[0] = pct
            bar = "#" * (pct // 4)
            sys.stderr.write(f"\rconverting NAS-Bench-101 file [{bar:<25}] {pct:3d}%")
            if done >= total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    return show


def load_table(path: Path, epochs: int = 108, progress: Callable[[int, int], None] | None = None,
               refresh: bool = False) -> NB101Table:
    """The table for ``path``: from the cache, or converted once and cached."""
    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(f"NAS-Bench-101 file {path} does not exist; expected nasbench_only108.tfrecord")
    target = cache_path(path, epochs)
    if target.is_file() and not refresh:
        try:
            with np.load(target, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            if int(arrays["version"][0]) == TABLE_VERSION:
                return NB101Table(arrays, path.name)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache entry: convert again
    arrays = convert(path, epochs, progress if progress is not None else _stderr_progress())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]  # numpy's stubs: **arrays might fill allow_pickle
    os.replace(tmp, target)
    return NB101Table(arrays, path.name)


@lru_cache(maxsize=2)
def _cached_table(resolved: str, size: int, mtime_ns: int) -> NB101Table:
    return load_table(Path(resolved))


def table_for(path: Path | str) -> NB101Table:
    """One shared table per file per process (the space and the ground truth both need it)."""
    p = Path(path).resolve()
    if not p.is_file():
        raise BenchmarkError(f"NAS-Bench-101 file {path} does not exist; expected nasbench_only108.tfrecord")
    st = p.stat()
    return _cached_table(str(p), st.st_size, st.st_mtime_ns)


class NB101Table:
    """The converted benchmark: one row per module, in file order."""

    def __init__(self, arrays: dict[str, np.ndarray], name: str = "NAS-Bench-101") -> None:
        self.name = name
        self.arrays = arrays
        self.hashes = arrays["hashes"]
        self.epochs = int(arrays["epochs"][0])
        self._index: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def hash_index(self) -> dict[str, int]:
        if self._index is None:
            self._index = {h.decode(): i for i, h in enumerate(self.hashes.tolist())}
        return self._index

    def hash(self, i: int) -> str:
        text: str = self.hashes[i].decode()
        return text

    def spec_arrays(self, i: int) -> tuple[np.ndarray, list[int]]:
        """(V x V matrix, labels) of module ``i`` as stored."""
        v = int(self.arrays["nverts"][i])
        return self.arrays["matrices"][i, :v, :v].astype(np.int64), [int(x) for x in self.arrays["ops"][i, :v]]

    def repeats(self, i: int, field: str = "test") -> np.ndarray:
        row = self.arrays[field][i]
        present: np.ndarray = row[~np.isnan(row)]
        return present


class NB101GroundTruth:
    """Ground truth from a NAS-Bench-101 table, CIFAR-10 only, at the table's budget.

    ``aggregate``: ``mean`` over the three repeats (the benchmark's usual
    convention, the default) or ``max`` (what the NASWOT authors used).
    Accuracies are percentages; params in millions; train time in seconds
    (mean of the repeats, or that of the max-accuracy repeat).
    """

    def __init__(self, table: NB101Table, aggregate: str = "mean") -> None:
        if aggregate not in AGGREGATES:
            raise BenchmarkError(f"unknown NAS-Bench-101 aggregate {aggregate!r}; "
                                 f"choose one of {', '.join(AGGREGATES)}")
        self.table = table
        self.aggregate = aggregate
        what = "mean of 3 repeats" if aggregate == "mean" else "max of 3 repeats (as the NASWOT authors)"
        self.source = f"NAS-Bench-101 {table.name} ({table.epochs} epochs, {what})"

    def _budget_ok(self, epochs: int) -> bool:
        # NB201-style callers pass 200 for "the full schedule"; shorter NB101
        # budgets are not in the table.
        return int(epochs) not in (4, 12, 36) or int(epochs) == self.table.epochs

    def accuracy(self, index: int, dataset: str, split: str = "test", epochs: int = 200) -> float | None:
        if dataset != "cifar10" or split not in ("test", "valid") or not self._budget_ok(epochs):
            return None
        values = self.table.repeats(int(index), "test" if split == "test" else "valid")
        if values.size == 0:
            return None
        if self.aggregate == "max":
            return float(values.max()) * 100.0
        return float(values.mean()) * 100.0

    def params(self, index: int) -> float | None:
        return float(self.table.arrays["params"][int(index)]) / 1e6

    def train_time(self, index: int, dataset: str, epochs: int = 200) -> float | None:
        if dataset != "cifar10" or not self._budget_ok(epochs):
            return None
        times = self.table.arrays["train_time"][int(index)]
        tests = self.table.arrays["test"][int(index)]
        ok = ~np.isnan(times)
        if not ok.any():
            return None
        if self.aggregate == "max":
            return float(times[int(np.nanargmax(np.where(ok, tests, np.nan)))])
        return float(times[ok].mean())


def open_nb101(path: Path, aggregate: str = "mean") -> NB101GroundTruth:
    return NB101GroundTruth(table_for(path), aggregate)
