#!/usr/bin/env bash
# Train and evaluate the failure predictor the way docs/BENCHMARKS.md reports it: the seed MLP (with the
# signal ablation), the temporal GRU, and the unseen-injection protocol (train without push, test on it).
# Run inside the environment (./salus exec bash bench/predictor_report.sh ...); CPU is enough (minutes).
#
#   bash bench/predictor_report.sh [STORE] [OUT]      defaults: data/vla.zarr runs/predictor
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
store="${1:-data/vla.zarr}"; out="${2:-runs/predictor}"
mkdir -p "$out"
train() { name=$1; shift; salus-train-predictor --store "$store" --out "$out/$name" --quiet "$@" | tail -2; }
report() { name=$1; shift; salus-eval-predictor --checkpoint "$out/$name" --store "$store" --out "$out/${name}_report" "$@"; }
train mlp
report mlp --ablation
train gru --kind gru --window 10 --hidden 64
report gru
train mlp_unseen_push --holdout-injection push
report mlp_unseen_push
train gru_unseen_push --kind gru --window 10 --hidden 64 --holdout-injection push
report gru_unseen_push
