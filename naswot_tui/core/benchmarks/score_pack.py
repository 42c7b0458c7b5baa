"""The NB201 score pack: NASWOT scores of whole search spaces, shipped or named.

A pack is a numpy ``.npz`` (read with ``allow_pickle=False``) holding two
arrays of equal length: ``index`` (int, the architecture's benchmark index)
and ``score`` (float64; ``-inf`` kept for singular kernels, NaN for a
failed scoring). The shipped pack,
``naswot_tui/data/nb201_naswot_cifar10_b128_s1.npz``, holds every NB201 cell
scored on the embedded CIFAR-10 batch (128 images, reference hook rule,
initialisation seed 1); readers that need scores without scoring (the
paper protocol of ``report``, the evaluator's cache) get it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from naswot_tui.core.errors import BenchmarkError

PACK_NAME = "nb201_naswot_cifar10_b128_s1.npz"
# What the shipped pack was scored with (and so what it can stand in for).
PACK_CONTEXT: dict[str, str | int] = {"space": "nb201", "dataset": "cifar10", "data": "embedded",
                                     "batch_size": 128, "hook_rule": "reference", "proxy": "naswot", "seed": 1}


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


def shipped_pack_path() -> Path | None:
    """The pack inside the package, when this install ships one."""
    ref = resources.files("naswot_tui") / "data" / PACK_NAME
    return Path(str(ref)) if ref.is_file() else None


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
