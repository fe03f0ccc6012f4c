#!/usr/bin/env bash
# Success of a SmolVLA checkpoint through the ROS graph in real time (sim, VLA ensemble K = 5 and runner as
# separate processes, 10 Hz control) and, for the same seeds, in lockstep in-process (salus-eval-vla waits
# for every chunk), unperturbed and under push, action_noise and mass + friction at their default
# parameters. Run inside the environment (./salus exec bash bench/policy_eval.sh ...).
#
#   bash bench/policy_eval.sh [EPISODES] [SEED] [CHECKPOINT] [OUT] [MODES]
#   defaults: 20 1000 models/default/pretrained_model runs/eval "ros lockstep"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
episodes="${1:-20}"; seed="${2:-1000}"; checkpoint="${3:-models/default/pretrained_model}"; out="${4:-runs/eval}"
modes="${5:-ros lockstep}"
mkdir -p "$out"
declare -A inject=([none]="" [push]="push" [action_noise]="action_noise" [mass_friction]="mass friction")
for condition in none push action_noise mass_friction; do
  [[ " $modes " == *" ros "* ]] || break
  params="$out/ros_$condition.params.yaml"
  {
    echo "episode_runner: {ros__parameters: {results_path: $out/ros_$condition.jsonl}}"
    echo "salus_sim:"; echo "  ros__parameters:"; echo "    injection:"
    for type in ${inject[$condition]}; do echo "      $type: {enabled: true}"; done
    [ -z "${inject[$condition]}" ] && echo "      cube_pose: {enabled: true}"
  } > "$params"
  rm -f "$out/ros_$condition.jsonl"
  # monitor:=none: the policy alone, as the lockstep figures (the predictor costs < 1 ms a step).
  salus-launch episodes:="$episodes" seed:="$seed" checkpoint:="$checkpoint" params_file:="$params" monitor:=none \
    > "$out/ros_$condition.log" 2>&1
  echo "== ROS graph, real time: $condition"; grep -E "success rate|policy \(" "$out/ros_$condition.log"
done
for condition in none push action_noise mass_friction; do
  [[ " $modes " == *" lockstep "* ]] || break
  rm -f "$out/lockstep_$condition.jsonl"
  # shellcheck disable=SC2086
  salus-eval-vla --env mujoco --checkpoint "$checkpoint" --episodes "$episodes" --seed "$seed" \
    ${inject[$condition]:+--inject ${inject[$condition]}} --json "$out/lockstep_$condition.jsonl" \
    > "$out/lockstep_$condition.log" 2>&1
  echo "== lockstep in-process: $condition"; grep -E "success rate" "$out/lockstep_$condition.log"
done
