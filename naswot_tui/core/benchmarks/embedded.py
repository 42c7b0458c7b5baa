"""The NAS-Bench-201 table shipped inside the package (see data/PROVENANCE.md).

One compressed ``.npz`` of plain arrays (no pickles): the 15,625 cells in the
benchmark's index order as op codes, parameter counts, and 200- and 12-epoch
accuracies. It loads in a few milliseconds.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np


@lru_cache(maxsize=1)
def load_nb201_table() -> dict[str, np.ndarray]:
    ref = resources.files("naswot_tui") / "data" / "nb201_table.npz"
    with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}
