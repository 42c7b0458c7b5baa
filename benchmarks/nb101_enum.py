"""Enumeration + chunking of NAS-Bench-101 modules without scoring, in archs/s.

    python benchmarks/nb101_enum.py [--max-vertices 7] [--chunk 4096]

Enumerates every module up to ``--max-vertices`` (7: all 423,624) with
core/spaces/nb101_enum.py, grouped into executor chunks, and prints the count,
the wall time and archs/s, and that overhead as a share of scoring time at a
given per-architecture scoring time (``--score-s``, default 0.05 s: state what
you assume). Last line: ``archs=<n> archs_per_s=<x> overhead_pct=<y>``.
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-vertices", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=4096)
    parser.add_argument("--score-s", type=float, default=0.05, help="assumed seconds to score one module")
    args = parser.parse_args()
    from naswot_tui.core.spaces.nb101_enum import module_chunks

    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    t0 = time.perf_counter()
    n = sum(len(chunk) for chunk in module_chunks(args.chunk, args.max_vertices))
    wall = time.perf_counter() - t0
    rate = n / wall
    overhead = 100 * wall / (n * args.score_s)
    print(f"{n} modules (<= {args.max_vertices} vertices) in {wall:.1f} s")
    print(f"archs={n} archs_per_s={rate:.0f} overhead_pct={overhead:.2f}")


if __name__ == "__main__":
    main()
