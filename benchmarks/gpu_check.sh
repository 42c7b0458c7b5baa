#!/usr/bin/env bash
# One prepared check for a lent GPU machine (see /work/.library/device/README.md);
# about 5-8 minutes. Prints, for NB201 at batch 128:
#   1. speedup of score_network over the authors' procedure on the same GPU (20 archs)
#   2. archs/s of a real N=1000 run (Run + ArchEvaluator, no cache), in flight 1 vs 4,
#      and peak GPU memory
#   3. fp32 score parity GPU vs CPU on 20 archs (identical count, max |diff|, Kendall tau)
#   4. --amp bf16 / fp16 rank agreement with fp32 on 200 archs
#   5. graceful CUDA OOM (an architecture recorded with "OOM:", the run goes on)
#   6. executors on the GPU(s): local vs procs (one worker per GPU) vs ray (if installed),
#      N=200 uncached, archs/s each and whether scores and picks are identical
# Usage (repo root): bash benchmarks/gpu_check.sh        Output also lands in $OUT if set.
set -uo pipefail
cd "$(dirname "$0")/.."
LOG=${OUT:-/tmp}/gpu_check.log
exec > >(tee "$LOG") 2>&1
export NASWOT_TUI_CACHE_DIR=$(mktemp -d) NASWOT_TUI_RUNS_DIR=$(mktemp -d)
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

# The machine has torch but no network: install without fetching anything.
pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1 || echo "(pip install -e . failed; using PYTHONPATH)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"

echo "== 1. speedup vs the authors' procedure (same GPU, same 20 archs, construction included)"
timeout 200 python benchmarks/score_speed.py --device cuda --threads 0 --repeats 3 | tail -4

echo "== 2-5. throughput, peak memory, CPU parity, AMP rank agreement, OOM"
timeout 330 python - <<'PY'
import os, time, math, subprocess, sys
import numpy as np, torch
from naswot_tui.core.stats import kendall as kendall_tau, spearman
from naswot_tui.core.config import RunConfig
from naswot_tui.core.data import make_batch
from naswot_tui.core.engine import Run
from naswot_tui.core.events import ArchScored
from naswot_tui.core.scoring import init_seed, score_network
from naswot_tui.core.spaces import get_space

space = get_space("nb201")
dev = torch.device("cuda:0")

def run_n(n, inflight, **kw):
    os.environ["NASWOT_TUI_INFLIGHT"] = str(inflight)
    cfg = RunConfig(space="nb201", n=n, repeats=1, seed=1, device="cuda", cache=False, batch_size=128, **kw)
    torch.cuda.reset_peak_memory_stats(dev)
    run = Run(cfg); run.prepare()
    t0 = time.perf_counter()
    recs = [e for e in run.events() if isinstance(e, ArchScored)]
    dt = time.perf_counter() - t0
    return recs, dt, torch.cuda.max_memory_allocated(dev) / 2**20

run_n(20, 4)  # warm-up: cuDNN heuristics, allocator
for inflight in (1, 4):
    recs, dt, peak = run_n(200, inflight)
    print(f"N=200 in flight {inflight}: {len(recs) / dt:.1f} archs/s, peak {peak:.0f} MiB")
recs, dt, peak = run_n(1000, 4)
errors = sum(1 for r in recs if r.error)
print(f"N=1000 (in flight 4): {dt:.1f} s, {len(recs) / dt:.1f} archs/s, peak GPU memory {peak:.0f} MiB, errors {errors}")

# 3. parity with the CPU (fp32, TF32 off)
idx = [int(i) for i in np.random.default_rng(0).choice(space.size, 20, replace=False)]
def scores(device, amp=None, which=idx):
    b = make_batch("cifar10", "embedded", 128).to_tensor(device)
    out = []
    for i in which:
        torch.manual_seed(init_seed(1, i)); m = space.build(space.arch(i)).to(device)
        if amp:
            with torch.autocast("cuda", dtype=amp):
                out.append(score_network(m, b))
        else:
            out.append(score_network(m, b))
    return np.array(out)
torch.set_num_threads(os.cpu_count())
g, c = scores(dev), scores(torch.device("cpu"))
fin = np.isfinite(g) & np.isfinite(c)
print(f"parity GPU vs CPU on 20 archs: identical {int((g == c).sum())}/20, "
      f"max |diff| {np.abs(g[fin] - c[fin]).max():.3g}, max rel {np.abs((g[fin] - c[fin]) / c[fin]).max():.2e}, "
      f"kendall {kendall_tau(g, c):.4f}")

# 4. AMP rank agreement on 200 archs
idx200 = [int(i) for i in np.random.default_rng(1).choice(space.size, 200, replace=False)]
f32 = scores(dev, None, idx200)
for name, dt_ in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
    a = scores(dev, dt_, idx200)
    ok = np.isfinite(f32) & np.isfinite(a)
    top = lambda v, k: set(np.argsort(-np.nan_to_num(v, neginf=-1e18))[:k])
    print(f"amp {name} vs fp32 (200 archs): kendall {kendall_tau(f32[ok], a[ok]):.4f}, "
          f"spearman {spearman(f32[ok], a[ok]):.4f}, top-1 same {top(f32, 1) == top(a, 1)}, "
          f"top-10 overlap {len(top(f32, 10) & top(a, 10))}/10")

# 5. graceful OOM: a tiny memory cap, the run records errors and completes
code = r'''
import torch
torch.cuda.set_per_process_memory_fraction(0.0005, 0)
from naswot_tui.core.config import RunConfig
from naswot_tui.core.engine import Run
from naswot_tui.core.events import ArchScored, RunFinished
run = Run(RunConfig(space="nb201", n=3, repeats=1, device="cuda", cache=False)); run.prepare()
ev = list(run.events())
errs = [e.error for e in ev if isinstance(e, ArchScored) and e.error]
print("OOM check:", ev[-1].status, f"{len(errs)} errors;", (errs[0][:90] if errs else "none"))
'''
r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
print(r.stdout.strip() or r.stderr.strip()[-400:])
PY
echo "== 6. executors: local vs procs vs ray on the GPU(s), N=200, no cache"
timeout 240 python - <<'PY'
import json, subprocess, sys, time

def run(*extra):
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "naswot_tui", "--headless", "--n", "200", "--unique", "--seed", "5",
                          "--no-cache", "--device", "all", "--json", *extra], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        return None, wall, out.stderr.strip()[-300:]
    doc = json.loads(out.stdout)
    scores = {}
    for line in open(doc["trace"]):
        rec = json.loads(line)
        if rec["type"] == "score":
            scores[rec["i"]] = rec.get("score")
    return (scores, [p["index"] for p in doc["picks"]]), wall, ""

base, t_local, _ = run()
print(f"local: {200 / t_local:.1f} archs/s end to end ({t_local:.1f} s)")
for name in ("procs", "ray"):
    got, wall, err = run("--executor", name)
    if got is None:
        print(f"{name}: failed or unavailable: {err}")
        continue
    print(f"{name}: {200 / wall:.1f} archs/s end to end ({wall:.1f} s, startup included); "
          f"identical scores {got[0] == base[0]}, same picks {got[1] == base[1]}")
PY
echo "gpu_check done"
