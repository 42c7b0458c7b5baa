"""How long ``naswot-tui evaluate`` takes on a whole-NB201 trace, and how wide its intervals are.

Writes a trace in the ``naswot-trace/1`` format holding all 15,625 NB201
architectures ranked by ``params`` (from the embedded table: what
``--proxy params --n all`` records), then times ``python -m naswot_tui
evaluate`` on it twice in fresh processes: with an empty cost cache (params
and FLOPs derived from three networks built on the meta device) and with
the cache filled. Prints wall and CPU seconds and the Kendall interval of
params against CIFAR-10 test accuracy (issue 10: under 5 s, narrower than
+-0.01 at n = 15,625).

    OMP_NUM_THREADS=1 python benchmarks/evaluate_speed.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from naswot_tui.core.benchmarks import ground_truth_for
from naswot_tui.core.config import RunConfig
from naswot_tui.core.spaces import get_space


def write_whole_space_trace(path: Path) -> None:
    space, truth = get_space("nb201"), ground_truth_for("nb201")
    config = RunConfig(space="nb201", n=space.size, unique=True, proxy="params", cache=False)
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps({"type": "header", "schema": "naswot-trace/1", "config": config.to_dict(),
                            "proxy": "params", "hook_rule": config.hook_rule, "batch_size": config.batch_size,
                            "data": "none (params)"}) + "\n")
        for i in range(space.size):
            f.write(json.dumps({"type": "score", "repeat": 0, "i": i, "arch": space.arch(i), "index": i,
                                "score": truth.params(i), "params": truth.params(i),
                                "acc": truth.accuracy(i, "cifar10", "test"), "t_s": 0.0}) + "\n")
        f.write(json.dumps({"type": "end", "status": "completed"}) + "\n")


def timed_evaluate(trace: Path, env: dict) -> tuple[float, float, dict]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "naswot_tui", "evaluate", str(trace), "--json"],
                         env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="write the trace and cost cache here (default: a temporary folder)")
    args = parser.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="naswot-evaluate-speed-"))
    folder.mkdir(parents=True, exist_ok=True)
    trace = folder / "nb201-params-all.jsonl"
    write_whole_space_trace(trace)
    env = {**os.environ, "NASWOT_TUI_CACHE_DIR": str(folder / "cache")}
    for label in ("empty cost cache", "cost cache filled"):
        wall, cpu, doc = timed_evaluate(trace, env)
        r = next(x for x in doc["traces"][0]["results"] if x["proxy"] == "params" and x["target"] == "cifar10 test")
        tau = r["kendall_tau"]
        half = (tau["ci95"][1] - tau["ci95"][0]) / 2
        print(f"{label:<18} wall {wall:5.2f} s  cpu {cpu:5.2f} s  n {tau['n']}  Kendall {tau['value']:.3f} "
              f"[{tau['ci95'][0]:.3f}, {tau['ci95'][1]:.3f}] (+-{half:.4f}, {tau['method']})")


if __name__ == "__main__":
    main()
