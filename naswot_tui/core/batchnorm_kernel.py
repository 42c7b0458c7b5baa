"""The numba kernel behind ``core.batchnorm``: per-channel BatchNorm statistics
summed in PyTorch's order, eight channels at a time. Importing this module
imports numba (the optional ``fast`` extra); ``core.batchnorm`` does so lazily.

Types carry the exactness: ``x`` is float32, so ``x - m`` and ``d * d`` are
float32 operations as in PyTorch's C++ loop, and ``s += v`` widens the float
to float64 exactly before one rounded double add. No fastmath: no reordering,
no fused multiply-add.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True, boundscheck=False)


@_jit
def _sums8(x: Any, c0: int, mean: Any, out: Any, squares: bool) -> None:
    """Sums (or sums of squared differences from ``mean``) of channels c0..c0+7
    of ``x[n, c, i]``, each image by image and pixel by pixel.

    Per image, each channel's terms are first widened to float64 in a scratch
    row (a loop the compiler vectorises); then one loop adds the eight rows
    into eight accumulators: eight independent add chains that overlap
    instead of each add waiting for the last, each in PyTorch's order.
    """
    n_batch, _, size = x.shape
    rows = np.empty((8, size), np.float64)
    r0, r1, r2, r3, r4, r5, r6, r7 = rows[0], rows[1], rows[2], rows[3], rows[4], rows[5], rows[6], rows[7]
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    for n in range(n_batch):
        for g in range(8):
            p = x[n, c0 + g]
            row = rows[g]
            if squares:
                m = mean[c0 + g]
                for i in range(size):
                    d = p[i] - m          # float32, as PyTorch's (x - mean) * (x - mean)
                    row[i] = d * d
            else:
                for i in range(size):
                    row[i] = p[i]
        for i in range(size):
            s0 += r0[i]
            s1 += r1[i]
            s2 += r2[i]
            s3 += r3[i]
            s4 += r4[i]
            s5 += r5[i]
            s6 += r6[i]
            s7 += r7[i]
    out[0], out[1], out[2], out[3] = s0, s1, s2, s3
    out[4], out[5], out[6], out[7] = s4, s5, s6, s7


@_jit
def _sums1(x: Any, c: int, m: Any, squares: bool) -> float:
    """One channel's sum (or sum of squared differences from ``m``), the same order."""
    n_batch, _, size = x.shape
    s = 0.0
    for n in range(n_batch):
        p = x[n, c]
        if squares:
            for i in range(size):
                d = p[i] - m
                s += d * d
        else:
            for i in range(size):
                s += p[i]
    return s


@_jit
def channel_stats(x: Any, mean: Any, var_sum: Any) -> None:
    """PyTorch's per-channel ``mean`` and ``var_sum`` (both float32) of ``x[n, c, i]``."""
    n_batch, channels, size = x.shape
    count = n_batch * size
    acc = np.empty(8)
    full = channels - channels % 8
    for c0 in range(0, full, 8):
        _sums8(x, c0, mean, acc, False)
        for g in range(8):
            mean[c0 + g] = np.float32(acc[g] / count)   # double / int64 -> double, then to float
        _sums8(x, c0, mean, acc, True)
        for g in range(8):
            var_sum[c0 + g] = np.float32(acc[g])
    for c in range(full, channels):
        mean[c] = np.float32(_sums1(x, c, np.float32(0.0), False) / count)
        var_sum[c] = np.float32(_sums1(x, c, mean[c], True))
