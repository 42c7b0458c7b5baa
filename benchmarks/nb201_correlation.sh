#!/usr/bin/env bash
# NASWOT on real images vs NAS-Bench-201 accuracy (README "How good is the score?").
#
# Scores a seeded sample of 200 distinct NB201 architectures with the embedded
# 128 CIFAR-10 images (test-set JPEGs), once per hook rule, then evaluates
# naswot / params / flops against every accuracy the embedded table knows.
# About 4 minutes per hook rule on 2 CPU cores; set OMP_NUM_THREADS=1 when
# the machine is shared (torch's spinning threads are much slower under load).
#
#   benchmarks/nb201_correlation.sh [OUT_DIR] [extra naswot-tui args, e.g. --device cuda]
set -euo pipefail
OUT="${1:-benchmarks/results/nb201_correlation}"
shift || true
N="${N:-200}"
SEED="${SEED:-1}"
mkdir -p "$OUT/reference" "$OUT/relu"
for rule in reference relu; do
  if ! ls "$OUT/$rule"/*.jsonl >/dev/null 2>&1; then
    naswot-tui --headless --space nb201 --dataset cifar10 --n "$N" --unique --seed "$SEED" \
      --hook-rule "$rule" --out "$OUT/$rule" "$@" >/dev/null
  fi
done
naswot-tui evaluate "$OUT"/reference/*.jsonl "$OUT"/relu/*.jsonl --json > "$OUT/evaluate.json"
naswot-tui evaluate "$OUT"/reference/*.jsonl "$OUT"/relu/*.jsonl > "$OUT/evaluate.txt"
python - "$OUT/evaluate.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
print(f"{'proxy':<12} {'target':<16} {'n':>4} {'Kendall tau [95% CI]':<24} {'Spearman rho [95% CI]':<24}")
for t in doc["traces"]:
    for r in t["results"]:
        if r["target"] != "cifar10 test":
            continue
        k, s = r["kendall_tau"], r["spearman_rho"]
        print(f"{r['proxy']:<12} {r['target']:<16} {r['n']:>4} "
              f"{k['value']:.3f} [{k['ci95'][0]:.3f}, {k['ci95'][1]:.3f}]   "
              f"{s['value']:.3f} [{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]")
print("paper (NB201 C-10, ~1000 archs, training images): NASWOT Kendall tau 0.574")
PY
