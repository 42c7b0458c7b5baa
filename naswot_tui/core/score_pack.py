"""Score packs: precomputed scores of a whole space shipped inside the package.

A pack is an ``.npz`` (no pickles) in ``naswot_tui/data/`` with arrays
``index`` (int32), ``score`` (float64; ``-inf`` kept, NaN for a failed cell)
and ``context`` (one JSON string): the fields of a cache key that determine a
score (space, batch fingerprint, batch size, hook rule, proxy, init policy and
run seed, dtype, device kind). The evaluator uses a pack as read-only cache
entries, only when the run's key matches it field for field (the package
version aside: tests re-score pack cells to prove the scoring unchanged), and
only with the cache on (``--no-cache`` scores everything). A pack serves only
the device kind it was scored on (``cache.device_kind``: CPUs with another
instruction set round a few activations differently), so the NB201 pack
ships once per common CPU kind (AVX-512, AVX2); other CPUs and GPUs score.

``scripts/build_score_pack.py`` builds a pack from a trace; PROVENANCE.md in
the data folder says which command produced each shipped pack.

Readers that need whole-space scores without scoring (``report --protocol
paper``) use ``load_score_pack``, which also reads a pack the user names
(then only ``index`` and ``score`` are required) and checks its shape.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from naswot_tui.core.cache import CacheKey
from naswot_tui.core.errors import BenchmarkError

#: what the NB201 packs were scored with (so what they can stand in for), beside the device kind
PACK_CONTEXT: dict[str, str | int] = {"space": "nb201", "dataset": "cifar10", "data": "embedded",
                                     "batch_size": 128, "hook_rule": "reference", "proxy": "naswot", "seed": 1}
#: the packs that ship with the package (file names in naswot_tui/data/), one per CPU kind
SHIPPED = ("nb201_naswot_cifar10_b128_s1_cpu-avx512.npz", "nb201_naswot_cifar10_b128_s1_cpu-avx2.npz")
#: CacheKey fields a pack must match (the version is left out on purpose, see the docstring)
CONTEXT_FIELDS = ("space", "data_fingerprint", "batch_size", "hook_rule", "proxy", "init_policy", "dtype",
                  "device_kind")


def context_of(key: CacheKey) -> dict[str, Any]:
    """The part of a cache key that a pack records."""
    full = asdict(key)
    return {name: full[name] for name in CONTEXT_FIELDS}


def write_pack(path: Path, context: dict[str, Any], indices: np.ndarray, scores: np.ndarray) -> None:
    """Write a pack (sorted by index; one score per index)."""
    order = np.argsort(indices, kind="stable")
    idx = np.asarray(indices, dtype=np.int32)[order]
    if len(np.unique(idx)) != len(idx):
        raise ValueError("a pack holds one score per architecture index")
    missing = set(CONTEXT_FIELDS) - set(context)
    if missing:
        raise ValueError(f"pack context lacks {sorted(missing)}")
    np.savez_compressed(path, index=idx, score=np.asarray(scores, dtype=np.float64)[order],
                        context=np.array(json.dumps({k: context[k] for k in CONTEXT_FIELDS}, sort_keys=True)))


def read_pack(path: Path) -> tuple[dict[str, Any], dict[int, float]]:
    """(context, index -> score) of a pack file."""
    with np.load(path, allow_pickle=False) as npz:
        context = json.loads(str(npz["context"]))
        scores = dict(zip(npz["index"].tolist(), npz["score"].tolist(), strict=True))
    return context, scores


@cache
def _shipped() -> tuple[tuple[dict[str, Any], dict[int, float]], ...]:
    packs = []
    folder = resources.files("naswot_tui") / "data"
    for name in SHIPPED:
        ref = folder / name
        if not ref.is_file():
            continue
        with resources.as_file(ref) as p:
            packs.append(read_pack(Path(p)))
    return tuple(packs)


def pack_for(key: CacheKey) -> dict[int, float] | None:
    """The shipped scores for ``key``'s context, or None when no pack matches it exactly."""
    wanted = context_of(key)
    for context, scores in _shipped():
        if context == wanted:
            return scores
    return None


def is_failed(score: float) -> bool:
    """NaN marks a cell whose scoring failed when the pack was built (it is scored again)."""
    return math.isnan(score)


@dataclass(frozen=True)
class ScorePack:
    """Scores by architecture index; ``source`` says where they came from."""

    index: np.ndarray   # int64, distinct
    score: np.ndarray   # float64, same length
    source: str

    def dense(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, known) over indices 0..size-1; unknown cells are NaN with known False."""
        scores = np.full(size, np.nan)
        known = np.zeros(size, dtype=bool)
        inside = (self.index >= 0) & (self.index < size)
        scores[self.index[inside]] = self.score[inside]
        known[self.index[inside]] = True
        return scores, known


def shipped_pack_path(kind: str | None = None) -> Path | None:
    """The NB201 pack for ``kind`` (default: this machine's CPU), else any shipped one; None when none ships.

    Whole-space statistics (``report --protocol paper``) may use another CPU
    kind's pack: its scores differ from this machine's in the eighth digit at most.
    """
    if kind is None:
        import torch

        from naswot_tui.core.cache import device_kind
        kind = device_kind(torch.device("cpu"))
    folder = resources.files("naswot_tui") / "data"
    present = [Path(str(folder / name)) for name in SHIPPED if (folder / name).is_file()]
    exact = [p for p in present if p.stem.endswith(f"_{kind}")]
    return (exact + present)[0] if present else None


def load_score_pack(path: str | Path | None = None) -> ScorePack | None:
    """Read a pack (default: the shipped one; None when none ships).

    A named file that is missing or malformed raises ``BenchmarkError``
    (exit 3) with the reason, never a numpy traceback.
    """
    if path is None:
        path = shipped_pack_path()
        if path is None:
            return None
    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(f"score pack {path} not found; name an existing .npz with arrays index and score")
    try:
        with np.load(path, allow_pickle=False) as npz:
            index = np.asarray(npz["index"], dtype=np.int64)
            score = np.asarray(npz["score"], dtype=np.float64)
    except (OSError, ValueError, KeyError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BenchmarkError(f"score pack {path} is unreadable ({reason}); "
                             "it must be a numpy .npz with arrays index and score") from None
    if index.ndim != 1 or index.shape != score.shape:
        raise BenchmarkError(f"score pack {path}: index and score must be 1-D arrays of equal length "
                             f"(got {index.shape} and {score.shape})")
    if len(np.unique(index)) != len(index):
        raise BenchmarkError(f"score pack {path}: an architecture index appears twice")
    return ScorePack(index, score, str(path))
