#!/usr/bin/env bash
# Train and evaluate the failure predictor the way docs/BENCHMARKS.md reports it: the shipped GRU on the 12 +
# extended signals (with the signal ablation), the same GRU on the 12 signals alone, the seed MLP, and the
# unseen-injection protocol (train without push, test on it). The GRU's size was chosen on the validation
# episodes (bench/predictor_sweep.py), not on these test numbers.
# Run inside the environment (./salus exec bash bench/predictor_report.sh ...); CPU is enough (minutes).
#
#   bash bench/predictor_report.sh [STORE] [OUT]      defaults: data/vla.zarr runs/predictor
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
store="${1:-data/vla.zarr}"; out="${2:-runs/predictor}"
mkdir -p "$out"
train() { name=$1; shift; salus-train-predictor --store "$store" --out "$out/$name" --quiet "$@" | tail -2; }
report() { name=$1; shift; salus-eval-predictor --checkpoint "$out/$name" --store "$store" --out "$out/${name}_report" "$@"; }
gru=(--kind gru --window 10 --hidden 32 --dropout 0.3)
train gru "${gru[@]}" --signal-set extended
report gru --ablation
train gru_base "${gru[@]}" --signal-set base
report gru_base
train mlp --signal-set extended
report mlp
train gru_unseen_push "${gru[@]}" --signal-set extended --holdout-injection push
report gru_unseen_push
train mlp_unseen_push --signal-set extended --holdout-injection push
report mlp_unseen_push
