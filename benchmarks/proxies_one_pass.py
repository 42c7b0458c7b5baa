"""One scoring pass for ten proxies against ten separate single-proxy passes.

For each NB201 cell, both sides do what the engine does per architecture:
seed, build the network (with a classifier head: label-based proxies need
one), score. The one-pass side builds once and calls ``score_proxies`` with
all ten names, sharing the forward pass, the loss gradients and the ReLU
codes; the separate side builds and scores once per proxy. Sides alternate
per cell so drift in machine load hits both. Values are checked equal.

Last line (machine-readable):
    one_pass_s=<s> separate_s=<s> ratio=<one/separate> identical=<true|false>
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from naswot_tui.core.data import make_batch
from naswot_tui.core.proxies import score_proxies
from naswot_tui.core.spaces import get_space

PROXIES = ["naswot", "jacov", "synflow", "snip", "grad_norm", "zico", "swap", "meco", "params", "flops"]


def _build(space, index: int, seed: int):
    torch.manual_seed(seed)
    return space.build(space.arch(index), num_classes=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    space = get_space("nb201")
    batch = make_batch("cifar10", "embedded", batch_size=args.batch_size)
    rng = np.random.default_rng(args.seed)
    cells = [int(i) for i in rng.choice(space.size, size=args.cells, replace=False)]
    score_proxies(_build(space, cells[0], 0), batch, PROXIES)  # warm-up: imports, allocator
    one_total = separate_total = 0.0
    identical = True
    for k, index in enumerate(cells):
        def one(index=index):
            t = time.perf_counter()
            values = score_proxies(_build(space, index, args.seed), batch, PROXIES)
            return time.perf_counter() - t, values

        def separate(index=index):
            t = time.perf_counter()
            values = {}
            for name in PROXIES:
                values.update(score_proxies(_build(space, index, args.seed), batch, [name]))
            return time.perf_counter() - t, values

        order = (one, separate) if k % 2 == 0 else (separate, one)
        results = {f.__name__: f() for f in order}
        (t_one, v_one), (t_sep, v_sep) = results["one"], results["separate"]
        identical &= all(v_one[n] == v_sep[n] or (v_one[n] != v_one[n] and v_sep[n] != v_sep[n]) for n in PROXIES)
        one_total += t_one
        separate_total += t_sep
        print(f"cell {index:5d}: one pass {t_one:6.2f} s   separate {t_sep:6.2f} s   ratio {t_one / t_sep:.2f}")
    print(f"{len(cells)} cells, batch {args.batch_size}, {len(PROXIES)} proxies: {', '.join(PROXIES)}")
    print(f"one_pass_s={one_total:.2f} separate_s={separate_total:.2f} ratio={one_total / separate_total:.3f} "
          f"identical={'true' if identical else 'false'}")


if __name__ == "__main__":
    main()
