"""Latency of the safety filter's decision (SafetyFilter.decide): manifold candidates sampled and decoded,
the VLA's K ensemble samples added, every candidate rolled out through the dynamics model and scored, the
best limited. Single torch thread, as the filter node will run. Prints p50/p90/p99/max in ms.

    ./salus exec python bench/filter_bench.py --checkpoint runs/filter [--steps 2000 --samples 64 --keep 16]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from salus_monitor.core.episodes import load_episodes
from salus_monitor.core.safety_filter import SafetyFilter


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--store", default="data/vla.zarr", help="states and actions to decide on")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=64, help="manifold latents drawn per decision")
    parser.add_argument("--keep", type=int, default=16, help="of them, kept nearest the safe centre")
    parser.add_argument("--ensemble", type=int, default=5, help="K, the VLA's samples added as candidates")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    safety_filter = SafetyFilter.load(args.checkpoint)
    episodes, _ = load_episodes(args.store)
    states = np.concatenate([ep.state for ep in episodes])
    actions = np.concatenate([ep.action for ep in episodes])
    rng = np.random.default_rng(0)
    pick = rng.integers(0, len(states), args.steps + 100)
    lower, upper, step = (
        np.full(states.shape[1], -3.0),
        np.full(states.shape[1], 3.0),
        np.full(states.shape[1], 0.2),
    )
    generator = torch.Generator().manual_seed(0)
    latencies = []
    for n, i in enumerate(pick):
        ensemble = actions[i] + rng.normal(0.0, 0.01, (args.ensemble, actions.shape[1]))
        started = time.perf_counter()
        safety_filter.decide(
            states[i], actions[i], ensemble, lower, upper, step, args.samples, args.keep, generator
        )
        if n >= 100:  # after a warm-up
            latencies.append(time.perf_counter() - started)
    ms = np.asarray(latencies) * 1e3
    print(
        f"{args.checkpoint}: {args.samples} latents -> {args.keep} kept + {args.ensemble} ensemble samples, "
        f"horizon {safety_filter.mpc.horizon}; {args.steps} decisions, {args.threads} torch thread(s), "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}"
    )
    print(
        f"decision latency ms: p50 {np.percentile(ms, 50):.3f}  p90 {np.percentile(ms, 90):.3f}  "
        f"p99 {np.percentile(ms, 99):.3f}  max {ms.max():.3f}"
    )


if __name__ == "__main__":
    main()
