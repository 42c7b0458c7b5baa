"""Keep freed CPU tensor memory in the process for the next forward pass.

A CPU forward pass allocates activations of several MB each (NB201 at batch
128: 8 MB a tensor). glibc serves blocks that large with ``mmap`` and returns
them with ``munmap`` when freed, so every pass faults all of its memory back
in from the kernel, zeroed: measured on NB201, a fifth of a worker's CPU time
went to the kernel. Raising the mmap and trim thresholds keeps freed blocks
in the heap, where the next network reuses them. Nothing numeric changes (the
same operations run on the same values); the process holds on to its peak
activation memory between passes, which it needs again for the next one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: blocks up to this size come from the heap; glibc refuses values above its
#: limit (32 MiB on older 64-bit builds), so the smaller fallback is tried next
_MMAP_THRESHOLDS = (256 << 20, 32 << 20)
#: free memory at the top of the heap is returned to the system only above this
_TRIM_THRESHOLD = 1 << 30

_done = False


def keep_freed_memory() -> bool:
    """Tune glibc's allocator once per process; False where there is no glibc (macOS, musl)."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    if not any(mallopt(_M_MMAP_THRESHOLD, size) == 1 for size in _MMAP_THRESHOLDS):
        return False
    mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    _done = True
    return True
