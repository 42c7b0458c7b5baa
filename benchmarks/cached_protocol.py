"""The paper's protocol (500 repeats of NASWOT N=1000 on NB201) on a fully cached space.

1. Fill a fresh score cache (a temporary NASWOT_TUI_CACHE_DIR) with a FAKE
   score for each of the 15,625 NB201 architectures, inserted directly with
   the cache API under the exact key the run will use (scoring 15k networks
   on a small CPU would take hours; what is timed here is everything else).
2. Time ``naswot-tui --headless --n 1000 --repeats 500`` end to end through
   the real path: ``Run`` (prepare, trace header, 500k score records and 500
   repeat records written to a real trace file) consumed by
   ``run_headless`` (text mode, stdout to /dev/null).

Last line: ``cached_protocol_s=<seconds> archs=<500000> goal_s=10 ok=<true|false>``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=500)
    ap.add_argument("--profile", action="store_true", help="print a cProfile of the timed run")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="naswot-cached-"))
    os.environ["NASWOT_TUI_CACHE_DIR"] = str(tmp / "cache")
    os.environ["NASWOT_TUI_RUNS_DIR"] = str(tmp / "runs")

    import numpy as np

    from naswot_tui.core.config import RunConfig
    from naswot_tui.core.engine import Run
    from naswot_tui.headless import run_headless

    config = RunConfig(space="nb201", dataset="cifar10", n=args.n, repeats=args.repeats, seed=1, device="cpu")

    # -- 1. fill the cache with fake scores under the run's own key
    t0 = time.perf_counter()
    probe = Run(RunConfig(**{**config.to_dict(), "n": 1, "repeats": 1}))
    probe.prepare()
    ev = probe.evaluator
    key = ev.cache_key()
    rng = np.random.default_rng(0)
    fake = rng.normal(1500.0, 80.0, size=ev.space.size)
    ev.cache.put_many(key, ((i, ev.space.arch(i), float(fake[i]), None, 0.0) for i in range(ev.space.size)))
    filled = ev.cache.count(key)
    print(f"filled {filled} fake scores in {time.perf_counter() - t0:.2f} s ({ev.cache.path})")

    # -- 2. the timed protocol run, through Run + the headless front end
    sink = io.StringIO()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    run = Run(config)
    run.prepare()
    with contextlib.redirect_stdout(sink):
        code = run_headless(run, mode="text")
    elapsed = time.perf_counter() - t0
    if profiler:
        profiler.disable()
        import pstats

        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
    from naswot_tui.core.trace import read_trace

    trace = read_trace(run.trace_path)
    cached = sum(1 for s in trace.scores if s.extra.get("cached"))
    lines = sink.getvalue().strip().splitlines()
    print(f"exit {code}; {len(trace.scores)} score records ({cached} cache hits), {len(trace.repeat_ends)} repeats; "
          f"trace {run.trace_path.stat().st_size / 2**20:.0f} MiB")
    print(lines[-2] if len(lines) >= 2 else "")
    total = args.n * args.repeats
    print(f"cached_protocol_s={elapsed:.2f} archs={total} goal_s=10 ok={'true' if elapsed < 10 else 'false'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
