"""The optional compiled CPU kernels (``core.cpu_kernels``, numba), loaded once.

numba comes with the ``fast`` extra (``pip install "naswot-tui[fast]"``).
Without it, or with ``NASWOT_TUI_NUMBA=0``, ``kernels()`` is None and every
caller runs its plain PyTorch path: the results are the same bit for bit,
only slower. Compiled code is cached on disk by numba (next to the module,
else in the user's cache directory), so a process pays the compile once
per install and then about half a second to load it.
"""

from __future__ import annotations

import os
import threading
from types import ModuleType

import numpy as np

_enabled = os.environ.get("NASWOT_TUI_NUMBA", "1") != "0"
_module: ModuleType | None = None
_tried = False
_lock = threading.Lock()


def enable(on: bool) -> None:
    """Use the compiled kernels in this process or not (tests; ``NASWOT_TUI_NUMBA=0``)."""
    global _enabled
    _enabled = bool(on)


def kernels() -> ModuleType | None:
    """``core.cpu_kernels``, compiled, or None (switched off, numba missing or unusable)."""
    global _module, _tried
    if not _enabled:
        return None
    if not _tried:
        with _lock:
            if not _tried:
                _module = _load()
                _tried = True
    return _module


def _load() -> ModuleType | None:
    try:
        from naswot_tui.core import cpu_kernels

        # Compile (or load from the cache) now, once, rather than inside the first scoring.
        cpu_kernels.channel_stats(np.zeros((1, 1, 2), np.float32), np.empty(1, np.float32), np.empty(1, np.float32))
        cpu_kernels.sign_gram(np.zeros((2, 3), np.float32), np.empty((2, 2), np.int64))
    except Exception:  # numba missing, or it cannot compile here: the PyTorch paths run
        return None
    return cpu_kernels
