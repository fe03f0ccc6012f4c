#!/usr/bin/env bash
# Train a SmolVLA preset on a LeRobot demonstration dataset on a GPU machine that has no ROS and no network,
# then package it for shipping (salus-package-policy). Training needs no ROS: salus_vla.train only.
#
#   bash bench/train_policy_gpu.sh install DIR          # wheels in DIR (lerobot, av, ...) into /tmp/site
#   bash bench/train_policy_gpu.sh unpack PART...       # dataset tarball parts (split -b) into /tmp/demos
#   bash bench/train_policy_gpu.sh train PRESET STEPS   # lerobot training in the background (/tmp/salus-train)
#   bash bench/train_policy_gpu.sh wait SECONDS         # wait for the training to end, at most SECONDS
#   bash bench/train_policy_gpu.sh package OUT          # fp16 packaged policy, tarred and split into OUT/part-*
#
# The shipped policy (models/default/README.md says how it was made):
#   PRESET=default, 12000 steps, batch 32, seed 0, on the demonstrations of scripts/collect_demos.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONPATH="/tmp/site:$PWD/ros2_ws/src/salus_common:$PWD/ros2_ws/src/salus_vla${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
run_dir=/tmp/salus-train
log=/tmp/salus-train.log

case "${1:-}" in
  install)
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$2"/*.whl
    python3 -c "import lerobot, transformers, av, datasets, torch; print('lerobot', lerobot.__version__, 'transformers', transformers.__version__, 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"
    ;;
  unpack)
    # Parts may come in several calls (64 MiB a call); the dataset is extracted once they are all here.
    shift
    mkdir -p /tmp/demo-parts && cp "$@" /tmp/demo-parts/
    if cat /tmp/demo-parts/part-* | tar -tzf - >/dev/null 2>&1; then
      rm -rf /tmp/demos && mkdir -p /tmp/demos && cat /tmp/demo-parts/part-* | tar -xzf - -C /tmp/demos
      echo "dataset unpacked: $(du -sh /tmp/demos | cut -f1)"
    else
      echo "parts so far: $(ls /tmp/demo-parts | tr '\n' ' ')(incomplete)"
    fi
    ;;
  train)
    preset="$2"; steps="$3"
    root=$(dirname "$(find /tmp/demos -name info.json -path '*/meta/*' | head -1)")/..
    # setsid: the training outlives this command (the device tool keeps a new session running).
    setsid nohup python3 -m salus_vla.train --dataset-root "$root" --preset "$preset" \
      --backbone-dir "/tmp/backbones/$preset" --steps "$steps" --batch-size 32 --num-workers 14 --device cuda \
      --seed 0 --save-freq "$(( steps / 3 ))" --output-dir "$run_dir" > "$log" 2>&1 < /dev/null &
    echo "training started (pid $!), log $log"
    ;;
  wait)
    deadline=$(( $(date +%s) + ${2:-540} ))
    until grep -q "End of training\|Traceback" "$log" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; do
      sleep 10
    done
    grep -E "step:" "$log" | awk 'NR % 3 == 0' | cut -c1-170 | tail -8
    tail -3 "$log" | cut -c1-300
    ;;
  package)
    out="$2"; mkdir -p "$out"
    cp "$log" "$out/train.log"
    python3 -m salus_vla.package_policy "$run_dir/checkpoints/last/pretrained_model" /tmp/default-policy
    tar -czf - -C /tmp default-policy | split -b 15M - "$out/policy.tgz.part-"
    ls -la "$out"
    ;;
  *) sed -n 2,13p "$0"; exit 2 ;;
esac
