"""Success rate of the scripted expert in the MuJoCo pick-and-place sim, optionally with injections.

Usage:
    PYTHONPATH=ros2_ws/src/salus_sim python bench/expert_success.py --episodes 20 --seed 0
    PYTHONPATH=ros2_ws/src/salus_sim python bench/expert_success.py --episodes 10 --inject gripper_fault
    PYTHONPATH=ros2_ws/src/salus_sim python bench/expert_success.py --inject mass \
        --set mass.scale_range=[20,20] --latency 1

`--inject` switches the named types on with their default parameters; `--set TYPE.KEY=VALUE` (VALUE as YAML)
overrides a parameter. Prints one line per episode and a summary of outcomes.
"""

from __future__ import annotations

import argparse
import collections
import time

from salus_sim.core.expert import ScriptedExpert
from salus_sim.core.injection import INJECTION_TYPES, injection_from_cli
from salus_sim.core.pick_place import PickPlaceSim, SimConfig
from salus_sim.core.rollout import run_episode


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="episode i uses seed + i")
    parser.add_argument(
        "--inject", nargs="*", default=[], choices=[t for t in INJECTION_TYPES if t != "cube_pose"]
    )
    parser.add_argument("--set", nargs="*", default=[], metavar="TYPE.KEY=VALUE", help="override a parameter")
    parser.add_argument("--latency", type=int, default=0, help="observation latency in control steps")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        injection = injection_from_cli(args.inject, args.set)
    except ValueError as err:
        raise SystemExit(f"expert_success: {err}") from err
    config = SimConfig(injection=injection)
    sim, expert = PickPlaceSim(config), ScriptedExpert()
    counts: collections.Counter[str] = collections.Counter()
    started = time.perf_counter()
    for i in range(args.episodes):
        result = run_episode(sim, expert, args.seed + i, latency_steps=args.latency)
        outcome = result.outcome.value if result.outcome else "none"
        counts[outcome] += 1
        onset = "-" if result.onset_time is None else f"{result.onset_time:.2f}"
        print(
            f"seed {result.seed:4d}  {outcome:9s}  onset {onset:>6s} s  duration {result.duration:5.2f} s  "
            f"active {','.join(result.perturbations.active_types()) or '-'}",
            flush=True,
        )
    wall = time.perf_counter() - started
    summary = "  ".join(f"{k}={v}" for k, v in sorted(counts.items()))
    print(
        f"success {counts['success']}/{args.episodes} ({100 * counts['success'] / args.episodes:.0f} %)  "
        f"{summary}  wall {wall:.1f} s ({wall / args.episodes:.2f} s/episode)"
    )
    sim.close()


if __name__ == "__main__":
    main()
