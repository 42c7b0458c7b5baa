"""Side-by-side speed of the authors' scoring procedure and ours.

Same process, same NB201 architectures, same minibatch, same seeds and the
same torch thread setting for both; network construction is included in
both timings (seed + build + score, as the engine does per architecture).

(a) the authors' procedure, written plainly (tests/authors_reference.py):
    forward with grad, backward with ones, second forward with forward hooks
    on every module whose class name contains 'ReLU', per hooked call two
    products ``x x^T + (1-x)(1-x)^T`` copied to the host and summed in numpy,
    ``np.linalg.slogdet``;
(b) ``naswot_tui.core.scoring.score_network``.

Each architecture is timed ``--repeats`` times per side, interleaved (a, b,
then b, a on the next round) so drift in machine load hits both; we report
per-architecture medians, the ratio of their sums (throughput) and the
median of per-architecture ratios, and whether every score matched exactly.

Threads: ``--threads 1`` by default. On a small shared CPU, OpenMP threads
that wait for each other at every op make both sides slower and far
noisier; the setting applies to both sides. ``--threads 0`` keeps torch's
default.

Last line (machine-readable):
    speedup_vs_reference=<x> identical_scores=<true|false> device=<name>
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from authors_reference import authors_score  # noqa: E402
from naswot_tui.core.data import make_batch  # noqa: E402
from naswot_tui.core.scoring import init_seed, score_network  # noqa: E402
from naswot_tui.core.spaces import get_space  # noqa: E402


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archs", type=int, default=20, help="NB201 architectures (drawn with --seed)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3, help="timings per architecture and side")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads for both sides (0: default)")
    args = ap.parse_args(argv)

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    space = get_space("nb201")
    batch = make_batch("cifar10", "embedded", args.batch_size).to_tensor(device)
    rng = np.random.default_rng(args.seed)
    indices = [int(i) for i in rng.choice(space.size, size=args.archs, replace=False)]

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def timed(fn, index):
        sync()
        start = time.perf_counter()
        torch.manual_seed(init_seed(args.seed, index))
        model = space.build(space.arch(index), num_classes=1).to(device)
        score = fn(model, batch)
        sync()
        return time.perf_counter() - start, score

    sides = {"authors": authors_score, "ours": score_network}
    # Warm-up (allocator, oneDNN primitive caches) on an architecture outside the sample.
    warm = next(i for i in range(space.size) if i not in indices)
    for fn in sides.values():
        timed(fn, warm)

    times = {name: {i: [] for i in indices} for name in sides}
    scores = {name: {} for name in sides}
    for rnd in range(args.repeats):
        order = list(sides) if rnd % 2 == 0 else list(reversed(sides))
        for index in indices:
            for name in order:
                t, s = timed(sides[name], index)
                times[name][index].append(t)
                scores[name][index] = s

    desc = (f"{cpu_name()}, {torch.get_num_threads()} torch thread(s)" if device.type == "cpu"
            else torch.cuda.get_device_name(device))
    print(f"device: {device} ({desc}); torch {torch.__version__}; batch {args.batch_size}; "
          f"{args.archs} NB201 archs x {args.repeats} timings per side, construction included")
    print(f"{'index':>6} {'authors_s':>10} {'ours_s':>8} {'ratio':>6}  same  score  arch")
    identical = True
    ratios = []
    for index in indices:
        a = statistics.median(times["authors"][index])
        b = statistics.median(times["ours"][index])
        sa, sb = scores["authors"][index], scores["ours"][index]
        same = sa == sb or (math.isnan(sa) and math.isnan(sb))
        identical &= same
        ratios.append(a / b)
        print(f"{index:>6} {a:>10.3f} {b:>8.3f} {a / b:>6.1f}  {'yes' if same else 'NO '}  {sb:.6f}  "
              f"{space.arch(index)}")
    total_a = sum(statistics.median(v) for v in times["authors"].values())
    total_b = sum(statistics.median(v) for v in times["ours"].values())
    speedup = total_a / total_b
    print(f"per-arch medians: authors {total_a / args.archs:.3f} s, ours {total_b / args.archs:.3f} s; "
          f"throughput ratio {speedup:.2f}x; median per-arch ratio {statistics.median(ratios):.2f}x; "
          f"min {min(ratios):.2f}x")
    name = "cpu" if device.type == "cpu" else torch.cuda.get_device_name(device).replace(" ", "_")
    print(f"speedup_vs_reference={speedup:.2f} identical_scores={'true' if identical else 'false'} device={name}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
