"""core.batchnorm against PyTorch's own train-mode BatchNorm, on NB201's shapes.

For each stage's activation (batch 128: 16x32x32, 32x16x16, 64x8x8) times
``nn.BatchNorm2d`` (PyTorch's CPU kernel, one thread) and ``core.batchnorm``
on the same tensor, checks the outputs are equal bit for bit, and prints the
ratio. Needs numba (``pip install -e ".[fast]"``).

Last line (machine-readable):
    speedup_stage1=<x> speedup_stage2=<y> speedup_stage3=<z> identical=<true|false>
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _best_of(fn, repeats: int = 5, calls: int = 20) -> float:
    """Seconds per call: the best of ``repeats`` timings of ``calls`` calls."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def main() -> None:
    import torch
    from torch import nn

    from naswot_tui.core import accel, batchnorm

    torch.set_num_threads(1)
    if accel.kernels() is None:
        raise SystemExit('numba is not installed: pip install -e ".[fast]"')
    ratios, identical = [], True
    for stage, shape in enumerate([(128, 16, 32, 32), (128, 32, 16, 16), (128, 64, 8, 8)], start=1):
        g = torch.Generator().manual_seed(stage)
        x = torch.relu(torch.randn(shape, generator=g) + 0.3)
        bn = nn.BatchNorm2d(shape[1])
        with torch.inference_mode():
            batchnorm.batch_norm(bn, x)                  # the one-time check of this shape
            fast_out = batchnorm.batch_norm(bn, x)
            same = fast_out is not None and torch.equal(fast_out, bn(x))
            module_s = _best_of(lambda bn=bn, x=x: bn(x))
            fast_s = _best_of(lambda bn=bn, x=x: batchnorm.batch_norm(bn, x))
        identical &= same
        ratios.append(module_s / fast_s)
        print(f"stage {stage} {'x'.join(map(str, shape))}: module {module_s * 1e3:.2f} ms, "
              f"core.batchnorm {fast_s * 1e3:.2f} ms ({module_s / fast_s:.2f}x), identical={str(same).lower()}")
    print(" ".join(f"speedup_stage{k}={r:.2f}" for k, r in enumerate(ratios, start=1))
          + f" identical={str(identical).lower()}")


if __name__ == "__main__":
    main()
