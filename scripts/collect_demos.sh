#!/usr/bin/env bash
# The demonstrations of the shipped policy (models/default): scripted-expert episodes recorded through the
# ROS graph as bags, half of them unperturbed and half under push, action noise or mass + friction (the
# expert's successes there are recoveries from perturbed states), exported as one LeRobot v3.0 dataset.
# Run inside the environment (./salus exec bash scripts/collect_demos.sh); about 40 min on 2 cores.
#
#   bash scripts/collect_demos.sh [EPISODES]      # default 360 seeds (0..359), 128 px cameras
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
episodes="${1:-360}"
salus-collect --bag-dir data/demo_bags --episodes "$episodes" --seed 0 --policy expert --image-size 128 \
  --real-time-factor 3 --inject none push none action_noise none friction+mass --block-size 10
salus-bag2lerobot data/demo_bags --root data/demos --keep success
