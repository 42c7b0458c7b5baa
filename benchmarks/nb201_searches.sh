#!/usr/bin/env bash
# NASWOT-10 vs REA vs AREA on NAS-Bench-201 / CIFAR-10, 10 repeats each, then
# the Table-2-shaped report (README "Searches"). Embedded images and table:
# the embedded table has no training times, so REA/AREA budgets are 100
# trainings (12-epoch validation accuracy as fitness). ~3 min for NASWOT-10
# and AREA each on 2 CPU cores, REA in seconds.
#
#   benchmarks/nb201_searches.sh [OUT_DIR] [extra naswot-tui args]
set -euo pipefail
OUT="${1:-benchmarks/results/nb201_searches}"
shift || true
for search in naswot rea area; do
  mkdir -p "$OUT/$search"
  if ! ls "$OUT/$search"/*.jsonl >/dev/null 2>&1; then
    naswot-tui --headless --space nb201 --dataset cifar10 --search "$search" --n 10 --repeats 10 --seed 1 \
      --out "$OUT/$search" "$@" >/dev/null
  fi
done
naswot-tui report "$OUT"/naswot/*.jsonl "$OUT"/rea/*.jsonl "$OUT"/area/*.jsonl | tee "$OUT/report.md"
naswot-tui report "$OUT"/naswot/*.jsonl "$OUT"/rea/*.jsonl "$OUT"/area/*.jsonl --format json > "$OUT/report.json"
