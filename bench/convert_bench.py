"""Bag -> Zarr conversion speed: MB/s of raw image data, episodes/s, bag size per episode.

Records N episodes of the in-process closed loop (MuJoCo sim + scripted expert, the sim node's stamps and
messages: two cameras, joint states, commands, episode events, serialized as CDR) through the same
``EpisodeBagRecorder`` the ``bag_recorder`` node uses, then converts them with ``salus-bag2zarr``'s
``convert`` at each requested worker count (best of ``--repeat`` runs), and verifies the store.

    ./salus exec python bench/convert_bench.py --episodes 8 --image-size 224 --workers 1 2
    ./salus exec python bench/convert_bench.py --bags /tmp/bench/bags --workers 2   # reuse recorded bags

Add ``--vla`` to also write synthetic proposals and signals (as a VLA run would) with every step.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def record_bags(bag_dir: Path, episodes: int, seed: int, size: int, vla: bool) -> dict[str, float]:
    """Closed-loop episodes -> bags; returns recording figures."""
    from salus_common.contract import (
        EPISODE_TOPIC,
        JOINT_COMMAND_TOPIC,
        JOINT_STATES_TOPIC,
        PROPOSAL_TOPIC,
        SIGNALS_TOPIC,
        camera_image_topic,
    )
    from salus_data import cdr_messages as cdr
    from salus_data.bag_topics import topic_profile
    from salus_data.bag_writer import EpisodeBagRecorder
    from salus_sim.core.expert import ScriptedExpert
    from salus_sim.core.pick_place import JOINT_NAMES, PickPlaceSim, SimConfig

    cameras = ("front", "wrist")
    recorder = EpisodeBagRecorder(bag_dir, topic_profile(cameras), cdr.typestore())
    sim = PickPlaceSim(SimConfig(image_width=size, image_height=size))
    expert = ScriptedExpert()
    dt_ns = round(sim.config.control_dt * 1e9)

    def event(ns: int, episode_id: str, seed: int, kind: str, outcome="", onset=math.nan, duration=0.0):
        pert = sim.perturbations
        return cdr.episode_event(
            ns, episode_id, seed, kind, outcome, onset, duration, pert.active_types(), pert.to_dict()
        )

    clock = 0
    write_s = 0.0
    steps = 0
    now = 0.0

    def feed(topic: str, raw: bytes) -> None:
        nonlocal write_s, now
        started = time.perf_counter()
        recorder.message(topic, raw, clock, now)
        write_s += time.perf_counter() - started
        now += 1e-4

    for i in range(episodes):
        episode_seed = seed + i
        sim.reset(episode_seed)
        expert.reset()
        episode_id = f"ep{i + 1:06d}-seed{episode_seed}"
        feed(EPISODE_TOPIC, event(clock, episode_id, episode_seed, "start"))
        command = None
        while True:
            target = sim.joint_positions() if command is None else command
            sim.step(target)
            if sim.outcome is not None:
                onset = math.nan if sim.outcome.value == "success" else float(sim.onset_time)
                end = event(clock, episode_id, episode_seed, "end", sim.outcome.value, onset, sim.time)
                feed(EPISODE_TOPIC, end)
            clock += dt_ns
            for camera in cameras:
                feed(camera_image_topic(camera), cdr.rgb_image(clock, sim.render(camera)))
            feed(
                JOINT_STATES_TOPIC,
                cdr.joint_state(clock, JOINT_NAMES, sim.joint_positions(), sim.joint_velocities()),
            )
            cube_pos, cube_quat = sim.cube_pose()
            command = expert.act(sim.joint_positions(), cube_pos, cube_quat, sim.bin_position())
            if vla:
                k = steps
                spread = np.full(9, 0.01, np.float32)
                samples = np.stack([command - spread, command + spread]).astype(np.float32)
                feed(
                    PROPOSAL_TOPIC, cdr.action_proposal(clock, JOINT_NAMES, samples, k // 10, k % 10, "bench")
                )
                values = np.random.default_rng(k).random(12)
                feed(SIGNALS_TOPIC, cdr.salus_signals(clock, [f"s{j}" for j in range(12)], values, k // 10))
            feed(JOINT_COMMAND_TOPIC, cdr.joint_state(clock, JOINT_NAMES, command))
            steps += 1
            if sim.outcome is not None:
                break
        print(f"  recorded seed {episode_seed}: {sim.outcome.value}, {sim.time:.1f} s", flush=True)
    sim.close()
    return {"steps": steps, "write_s": write_s}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--repeat", type=int, default=2, help="conversions per worker count (best is reported)"
    )
    parser.add_argument("--bags", type=Path, help="convert these bags instead of recording new ones")
    parser.add_argument("--vla", action="store_true", help="also record synthetic proposals and signals")
    parser.add_argument("--image-clevel", type=int, default=3, help="Blosc zstd level of images (default 3)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    opts = parser.parse_args()

    import warnings

    warnings.filterwarnings("ignore", message="Consolidated metadata")
    from salus_data.bag_reader import find_bags
    from salus_data.bag_to_zarr import ConvertConfig, convert
    from salus_data.verify_zarr import verify

    work = opts.keep or Path(tempfile.mkdtemp(prefix="salus-convert-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        bag_dir = opts.bags or work / "bags"
        if opts.bags is None:
            shutil.rmtree(bag_dir, ignore_errors=True)
            print(f"recording {opts.episodes} episodes at {opts.image_size} px into {bag_dir}", flush=True)
            started = time.perf_counter()
            figures = record_bags(bag_dir, opts.episodes, opts.seed, opts.image_size, opts.vla)
            print(
                f"  {time.perf_counter() - started:.1f} s (sim + rendering + recording); bag writing "
                f"{figures['write_s']:.2f} s = {figures['write_s'] / figures['steps'] * 1e3:.2f} ms per step",
                flush=True,
            )
        bags = find_bags([bag_dir])
        bag_bytes = sum(dir_size(b) for b in bags)
        print(f"{len(bags)} bags, {bag_bytes / 2**20 / len(bags):.2f} MiB per episode on average", flush=True)
        output = work / "episodes.zarr"
        rows = []
        for workers in opts.workers:
            best = None
            for _ in range(opts.repeat):
                config = ConvertConfig(workers=workers, image_clevel=opts.image_clevel)
                report = convert([bag_dir], output, config, log=print)
                if best is None or report.seconds < best.seconds:
                    best = report
            rows.append((workers, best))
        problems, _summary = verify(output)
        store_bytes = dir_size(output)
        raw_mb = best.image_bytes / 1e6
        cores = len(os.sched_getaffinity(0))
        print(
            f"\ncores available: {cores}; episodes {best.episodes}, steps {best.steps}, raw image "
            f"data {raw_mb:.1f} MB ({raw_mb / best.episodes:.1f} MB per episode)"
        )
        print("| workers | wall s | plan s | frames s | store s | MB/s raw image data | episodes/s |")
        print("|---|---|---|---|---|---|---|")
        for workers, report in rows:
            print(
                f"| {workers} | {report.seconds:.2f} | {report.plan_seconds:.2f} | "
                f"{report.frames_seconds:.2f} | {report.store_seconds:.2f} | {report.image_mb_per_s:.0f} | "
                f"{report.episodes / report.seconds:.2f} |"
            )
        print(
            f"bag size per episode {bag_bytes / len(bags) / 2**20:.2f} MiB; Zarr store "
            f"{store_bytes / 2**20:.1f} MiB ({store_bytes / 2**20 / best.episodes:.2f} MiB per episode); "
            f"verify: {problems or 'ok'}"
        )
    finally:
        if opts.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
