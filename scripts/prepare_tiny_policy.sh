#!/usr/bin/env bash
# The main job's policy when nothing better is at hand: record scripted-expert episodes through the ROS
# graph as bags (salus-collect), export the successes as a LeRobot dataset (salus-bag2lerobot) and train
# the `tiny` SmolVLA on them, on the CPU, in a few minutes. Does nothing when the checkpoint exists. Run
# inside the environment (./salus does).
#
#   bash scripts/prepare_tiny_policy.sh [EPISODES] [STEPS]
#
# The tiny policy (1.35 M parameters, 96 px) exists to exercise the whole stack on a laptop or in CI; it
# rarely solves the task. docs/VLA.md says how to train the `small` one on a GPU.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
episodes="${1:-30}"
steps="${2:-1000}"
run=models/tiny
checkpoint="$run/checkpoints/last/pretrained_model"
[ -f "$checkpoint/model.safetensors" ] && exit 0

say() { printf '\033[1m[tiny policy]\033[0m %s\n' "$*"; }
say "no checkpoint at $checkpoint: recording $episodes expert demonstrations, then $steps training steps"
salus-collect --policy expert --bag-dir data/tiny_bags --episodes "$episodes" --image-size 96 \
  --real-time-factor 3 --no-progress
salus-bag2lerobot data/tiny_bags --root data/tiny_demos
rm -rf "$run.partial"
salus-train-vla --dataset-root data/tiny_demos --preset tiny --backbone-dir models/backbones/tiny \
  --steps "$steps" --batch-size 16 --num-workers 2 --seed 0 --output-dir "$run.partial"
rm -rf "$run" && mv "$run.partial" "$run"
say "checkpoint ready: $checkpoint"
