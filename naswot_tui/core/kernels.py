"""Kernel side files: a run's K matrices kept next to its trace.

``<trace stem>.kernels.npz`` (numpy's zip of ``.npy`` arrays; read with
``allow_pickle=False``, so it can never execute code):

- ``schema``: 0-d unicode array ``"naswot-kernels/1"``;
- ``indices`` int64 (m,): architecture index in the space;
- ``repeats`` int32 (m,): the repeat whose batch produced K;
- ``fingerprints`` unicode (m,): that batch's fingerprint (trace header /
  ``repeat_start``), so a reader can tell a kernel of another batch;
- ``n_units`` int64 (m,): the number of hooked units N (K's diagonal);
- ``kernels`` float32 (m, B, B): K / N, each entry in [0, 1].

K / N is exact to float32 (7 digits), plenty for pictures and for the
``logdet`` to about 1e-3 after multiplying back; K itself is an integer
matrix whose entries overflow uint16 for any real network, so the
normalised form is the compact one. The file is rewritten whole
(write to a temporary name, then rename), so a reader never sees half of it.
One entry per architecture index: a later entry for the same index replaces
the earlier one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from naswot_tui.core.errors import TraceError

SCHEMA = "naswot-kernels/1"


def kernels_path(trace_path: str | Path) -> Path:
    """``runs/x.jsonl`` -> ``runs/x.kernels.npz``."""
    p = Path(trace_path)
    return p.with_name(p.stem + ".kernels.npz")


@dataclass(frozen=True)
class StoredKernel:
    index: int
    repeat: int
    fingerprint: str
    n_units: int
    normalised: np.ndarray  # float32 (B, B), K / n_units

    def kernel(self) -> np.ndarray:
        """K back as float64 (integer-valued up to float32 rounding)."""
        return self.normalised.astype(np.float64) * self.n_units


def read_kernels(trace_path: str | Path) -> dict[int, StoredKernel]:
    """index -> stored kernel; empty when the trace has no side file."""
    path = kernels_path(trace_path)
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["schema"]) != SCHEMA:
                raise TraceError(f"{path}: unknown kernel file schema {str(z['schema'])!r} (expected {SCHEMA})")
            indices, repeats, prints = z["indices"], z["repeats"], z["fingerprints"]
            units, kernels = z["n_units"], z["kernels"]
    except (OSError, ValueError, KeyError) as exc:
        raise TraceError(f"kernel file {path} is unreadable ({exc}); delete it and it will be recomputed") from None
    return {int(i): StoredKernel(int(i), int(r), str(f), int(u), k)
            for i, r, f, u, k in zip(indices, repeats, prints, units, kernels, strict=True)}


def write_kernels(trace_path: str | Path, entries: list[StoredKernel] | dict[int, StoredKernel]) -> Path:
    """Merge ``entries`` into the trace's side file (created when absent)."""
    path = kernels_path(trace_path)
    merged = read_kernels(trace_path)
    for e in (entries.values() if isinstance(entries, dict) else entries):
        merged[int(e.index)] = e
    items = sorted(merged.values(), key=lambda e: e.index)
    sizes = {e.normalised.shape for e in items}
    if len(sizes) > 1:
        raise ValueError(f"kernels of different batch sizes cannot share one file: {sorted(sizes)}")
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez_compressed(
        tmp, schema=np.array(SCHEMA),
        indices=np.array([e.index for e in items], dtype=np.int64),
        repeats=np.array([e.repeat for e in items], dtype=np.int32),
        fingerprints=np.array([e.fingerprint for e in items], dtype=np.str_),
        n_units=np.array([e.n_units for e in items], dtype=np.int64),
        kernels=np.stack([np.asarray(e.normalised, dtype=np.float32) for e in items]) if items
        else np.zeros((0, 0, 0), dtype=np.float32))
    os.replace(tmp, path)
    return path


def stored_kernel(index: int, repeat: int, fingerprint: str, kernel: np.ndarray) -> StoredKernel:
    """A raw K (as ``scoring.hamming_kernel`` returns it) in side-file form."""
    n_units = round(float(np.max(np.diagonal(kernel)))) if kernel.size else 0
    normalised = (kernel / n_units if n_units else kernel).astype(np.float32)
    return StoredKernel(int(index), int(repeat), str(fingerprint), n_units, normalised)
