"""Memory stays flat over a whole-space-style run; ground truth loads fast and small.

Part 1 (a whole-space-style run): a real ``Run`` over NB201 with ``--n 5000
--unique`` (each architecture once, as ``--n all`` does), real NASWOT
scoring on CPU through ``ArchEvaluator`` (build, fast scorer, score cache
writes into a temporary cache dir, trace writes) consumed as a front end
would. We sample the process RSS (VmRSS) after 1,000 and after 5,000 scored
architectures; flat means the second is not meaningfully above the first
(no per-architecture growth beyond the few bytes per entry the evaluator
keeps for cache hits). To stay feasible on a small CPU the batch is small
(``--batch-size``, default 16; batch size changes activation sizes, not what
is retained between architectures).

Part 2 (start-up): in a fresh interpreter, the time and RSS increase of
loading the embedded NB201 ground truth (goal: < 1 s, < 200 MB).

Last line: ``rss_1000_mb=<a> rss_5000_mb=<b> growth_mb=<b-a> truth_load_s=<t> truth_rss_mb=<m>``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


TRUTH_PROBE = """
import json, time, sys
sys.path.insert(0, {root!r})
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
    return 0.0
before = rss()
t0 = time.perf_counter()
from naswot_tui.core.benchmarks import EmbeddedNB201
truth = EmbeddedNB201()
acc = truth.accuracy(123, 'cifar10', 'test', 200)
elapsed = time.perf_counter() - t0
print(json.dumps({{"load_s": elapsed, "rss_mb": rss() - before, "acc": acc,
                   "torch_imported": 'torch' in sys.modules}}))
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--archs", type=int, default=5000)
    ap.add_argument("--first", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="naswot-mem-"))
    os.environ["NASWOT_TUI_CACHE_DIR"] = str(tmp / "cache")
    os.environ["NASWOT_TUI_RUNS_DIR"] = str(tmp / "runs")

    # -- part 2 first, in a fresh interpreter (nothing else loaded yet)
    probe = subprocess.run([sys.executable, "-c", TRUTH_PROBE.format(root=str(ROOT))], capture_output=True,
                           text=True, check=True)
    truth = json.loads(probe.stdout)
    print(f"embedded NB201 ground truth: load {truth['load_s']:.3f} s, +{truth['rss_mb']:.1f} MB RSS "
          f"(torch imported: {truth['torch_imported']})")

    import torch

    from naswot_tui.core.config import RunConfig
    from naswot_tui.core.engine import Run
    from naswot_tui.core.events import ArchScored

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    config = RunConfig(space="nb201", n=args.archs, repeats=1, unique=True, seed=1, device="cpu",
                       batch_size=args.batch_size)
    run = Run(config)
    run.prepare()
    samples = {}
    scored = 0
    start = time.perf_counter()
    for event in run.events():
        if isinstance(event, ArchScored):
            scored += 1
            if scored % 250 == 0 or scored == args.first:
                samples[scored] = rss_mb()
                if scored % 1000 == 0:
                    rate = scored / (time.perf_counter() - start)
                    print(f"  {scored:>5} scored  RSS {samples[scored]:7.1f} MB  ({rate:.1f} archs/s)", flush=True)
    first = samples.get(args.first, min(samples.values()))
    last = samples[max(samples)]
    print(f"RSS after {args.first}: {first:.1f} MB; after {max(samples)}: {last:.1f} MB; "
          f"growth {last - first:+.1f} MB over {max(samples) - args.first} architectures "
          f"({(last - first) * 1024 / max(1, max(samples) - args.first):.2f} KB/arch); batch {args.batch_size}")
    print(f"rss_{args.first}_mb={first:.1f} rss_{max(samples)}_mb={last:.1f} growth_mb={last - first:.1f} "
          f"truth_load_s={truth['load_s']:.3f} truth_rss_mb={truth['rss_mb']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
