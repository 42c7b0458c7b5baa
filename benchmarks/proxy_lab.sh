#!/usr/bin/env bash
# The README's "Proxy lab" measurement: NB201 cells drawn without replacement (seed 1), the embedded
# 128 CIFAR-10 images at the standard batch of 128, 14 proxies and 2 ensembles in one pass per cell,
# then `naswot-tui evaluate` against C-10, C-100 and ImageNet16-120 accuracies of the embedded table.
# On a 2-core shared CPU this takes hours for 500 cells (3-6 s per cell); stopping it with Ctrl-C
# leaves a `cancelled` trace that evaluate reads as it is.
set -euo pipefail
export OMP_NUM_THREADS=1
out=benchmarks/results/proxy_lab
mkdir -p "$out"
python -m naswot_tui --headless --n "${N:-500}" --unique --seed 1 --device cpu --batch-size 128 \
  --proxies naswot,jacov,synflow,snip,grad_norm,zico,swap,meco,params,flops,plain,fisher,l2_norm,swap-reg,ensemble:naswot+synflow,ensemble:jacov+zico+flops \
  --out "$out"
python -m naswot_tui evaluate "$out"/*.jsonl --json > "$out/evaluate.json"
python -m naswot_tui evaluate "$out"/*.jsonl > "$out/evaluate.txt"
