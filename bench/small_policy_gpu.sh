#!/usr/bin/env bash
# Train the `small` SmolVLA on recorded demonstrations and measure its closed-loop success, on a GPU machine
# without ROS (training and evaluation need no ROS: salus_vla.train + salus_vla.evaluate).
#
#   bash bench/small_policy_gpu.sh install      # wheels from .whl/ and .whl2/ into /tmp/site (no network)
#   bash bench/small_policy_gpu.sh train STEPS  # start lerobot training in the background (/tmp/salus-small)
#   bash bench/small_policy_gpu.sh wait SECONDS # wait for the training to end, at most SECONDS
#   bash bench/small_policy_gpu.sh eval N       # N episodes per condition, 4 conditions in parallel
#
# Inputs: data/demos (salus-record-demos --episodes 150 --seed 0 --image-size 128 --real-time-factor 3).
# Outputs: $OUT (or runs/small) gets the training log, per-episode JSONL and the summary tables.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${OUT:-runs/small}"
mkdir -p "$out"
export PYTHONPATH="/tmp/site:$PWD/ros2_ws/src/salus_common:$PWD/ros2_ws/src/salus_vla:$PWD/ros2_ws/src/salus_sim${PYTHONPATH:+:$PYTHONPATH}"
export MUJOCO_GL=egl PYOPENGL_PLATFORM=egl HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
run_dir=/tmp/salus-small

case "${1:-}" in
  install)
    for d in .whl .whl2; do
      if [ -d "$d" ] && [ ! -f "/tmp/site/.installed-$d" ]; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
          --target /tmp/site "$d"/*.whl && touch "/tmp/site/.installed-$d"
      fi
    done
    python3 -c "import lerobot, transformers, av, datasets; print('lerobot', lerobot.__version__, 'transformers', transformers.__version__)"
    ;;
  train)
    steps="${2:-4000}"
    # setsid: the training outlives this command (the device tool keeps a new session running).
    setsid nohup python3 -m salus_vla.train --dataset-root data/demos --preset small \
      --backbone-dir /tmp/backbones/small --steps "$steps" --batch-size 32 --num-workers 12 --device cuda \
      --seed 0 --save-freq 1000 --output-dir "$run_dir" > /tmp/salus-small.log 2>&1 < /dev/null &
    echo "training started (pid $!), log /tmp/salus-small.log"
    ;;
  wait)
    deadline=$(( $(date +%s) + ${2:-540} ))
    until grep -q "End of training\|Traceback" /tmp/salus-small.log 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; do
      sleep 10
    done
    cp /tmp/salus-small.log "$out/train.log"
    grep -E "step:" /tmp/salus-small.log | awk 'NR % 4 == 0' | cut -c1-160 | tail -12
    tail -3 /tmp/salus-small.log | cut -c1-300
    ;;
  eval)
    n="${2:-30}"
    ckpt="$run_dir/checkpoints/last/pretrained_model"
    common=(--env salus_sim.lockstep_env:make_env --checkpoint "$ckpt" --backbone-dir /tmp/backbones/small --episodes "$n" --seed 1000
            --num-samples 5 --device cuda)
    python3 -m salus_vla.evaluate "${common[@]}" --json "$out/eval_none.jsonl" > "$out/eval_none.txt" 2>&1 &
    python3 -m salus_vla.evaluate "${common[@]}" --inject push --json "$out/eval_push.jsonl" > "$out/eval_push.txt" 2>&1 &
    python3 -m salus_vla.evaluate "${common[@]}" --inject action_noise --json "$out/eval_noise.jsonl" > "$out/eval_noise.txt" 2>&1 &
    python3 -m salus_vla.evaluate "${common[@]}" --inject mass friction --json "$out/eval_mass_friction.jsonl" > "$out/eval_mass_friction.txt" 2>&1 &
    wait
    for f in "$out"/eval_*.txt; do echo "== $f"; tail -9 "$f"; done
    ;;
  *) sed -n 2,12p "$0"; exit 2 ;;
esac
