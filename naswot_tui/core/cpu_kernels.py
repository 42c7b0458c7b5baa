"""Compiled CPU kernels (numba), each exact by construction:

* ``channel_stats``: per-channel BatchNorm statistics summed in PyTorch's
  order, eight channels at a time (``core.batchnorm``);
* ``sign_gram``: ``G = C C^T`` of the 0/1 codes ``C = (x > 0)``, from the
  codes packed 64 to a word and counted with popcount (``core.scoring``).

Importing this module imports numba (the optional ``fast`` extra); only
``core.accel`` does, lazily. Types carry the exactness: ``x`` is float32, so
``x - m`` and ``d * d`` are float32 operations as in PyTorch's C++ loop, and
``s += v`` widens the float to float64 exactly before one rounded double add;
no fastmath (no reordering, no fused multiply-add). The Gram is integer
arithmetic throughout.
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


_ONE = np.uint64(1)
_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@_jit
def _popcount(v: Any) -> Any:
    """Set bits of a uint64 (the classic bit-parallel count; LLVM turns it into popcnt)."""
    v = v - ((v >> _ONE) & _M1)
    v = (v & _M2) + ((v >> np.uint64(2)) & _M2)
    v = (v + (v >> np.uint64(4))) & _M4
    return (v * _H01) >> np.uint64(56)


@_jit
def _pack_signs(x: Any, words: Any) -> None:
    """``words[b, w]`` bit k = ``x[b, 64 w + k] > 0`` (False for NaN and -0, as torch's ``x > 0``)."""
    n_rows, length = x.shape
    n_words = words.shape[1]
    for b in range(n_rows):
        row = x[b]
        for w in range(n_words):
            base = w * 64
            word = np.uint64(0)
            for k in range(min(64, length - base)):
                if row[base + k] > 0:
                    word |= _ONE << np.uint64(k)
            words[b, w] = word


@_jit
def sign_gram(x: Any, out: Any) -> None:
    """``out[i, j]`` = the number of units where ``x[i] > 0`` and ``x[j] > 0`` (int64)."""
    n_rows, length = x.shape
    words = np.empty((n_rows, (length + 63) // 64), np.uint64)
    _pack_signs(x, words)
    n_words = words.shape[1]
    for i in range(n_rows):
        a = words[i]
        for j in range(i, n_rows):
            c = words[j]
            s = np.uint64(0)
            for w in range(n_words):
                s += _popcount(a[w] & c[w])
            out[i, j] = s
            out[j, i] = s
