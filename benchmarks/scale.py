"""Speed-up of the executors on the same uncached NB201 cells.

Scores the same ``--n`` (24) NB201 cells of one draw (seed 5, no cache, embedded
CIFAR-10, batch 128) three times: ``local`` with one torch thread, ``procs
--workers 2`` and ``ray --workers 2`` (skipped when Ray is not installed).
Each executor first scores two other cells (its workers are started and warm:
torch imported, minibatch held), then the timed cells; startup is printed on
its own line. Scores must be identical across executors.

Reports the load average before and after: on a shared machine the figures
move with it.

Last line (machine-readable):
    speedup_procs=<x> speedup_ray=<y> identical_scores=<true|false>
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _evaluator(executor: str, workers: int):
    import torch

    from naswot_tui.core.benchmarks import ground_truth_for
    from naswot_tui.core.config import RunConfig
    from naswot_tui.core.engine import ArchEvaluator
    from naswot_tui.core.spaces import get_space

    torch.set_num_threads(1)
    config = RunConfig(n=24, seed=5, cache=False, unique=True, executor=executor,
                       workers=workers if executor != "local" else None).validate()
    return ArchEvaluator(config, get_space("nb201"), ground_truth_for("nb201", None, "mean"), torch.device("cpu"))


def measure(executor: str, workers: int, items: list[tuple[int, int]], warm: list[tuple[int, int]]):
    started = time.perf_counter()
    ev = _evaluator(executor, workers)
    ev.begin_repeat(0)
    list(ev.score_many(0, warm))
    startup = time.perf_counter() - started
    t0 = time.perf_counter()
    records = list(ev.score_many(0, items))
    wall = time.perf_counter() - t0
    ev.close()
    return wall, startup, {r.i: r.score for r in records}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from naswot_tui.core.search import sample_indices
    from naswot_tui.core.spaces import get_space

    draw = sample_indices(get_space("nb201"), args.n + 2, 5, 0, unique=True)
    warm = [(args.n, draw[args.n]), (args.n + 1, draw[args.n + 1])]
    items = list(enumerate(draw[: args.n]))
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    results = {}
    runs = [("local", 1), ("procs", args.workers), ("ray", args.workers)]
    for name, workers in runs:
        if name == "ray":
            try:
                import ray  # noqa: F401
            except ImportError:
                print("ray: not installed (pip install \"naswot-tui[ray]\"); skipped")
                continue
        wall, startup, scores = measure(name, workers, items, warm)
        results[name] = (wall, scores)
        print(f"{name:<6} workers={workers}: {wall:7.2f} s for {args.n} cells ({args.n / wall:.2f} archs/s); "
              f"startup + 2 warm-up cells {startup:.1f} s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    base, base_scores = results["local"]
    identical = all(scores == base_scores for _, scores in results.values())
    sp_procs = base / results["procs"][0]
    sp_ray = base / results["ray"][0] if "ray" in results else float("nan")
    print(f"speedup_procs={sp_procs:.2f} speedup_ray={sp_ray:.2f} identical_scores={str(identical).lower()}")


if __name__ == "__main__":
    main()
