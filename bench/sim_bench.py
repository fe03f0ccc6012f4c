"""Simulator benchmark: physics steps/s, render time per camera frame, achieved vs requested control rate.

    ./salus exec python bench/sim_bench.py                 # all three parts, prints a Markdown table
    ./salus exec python bench/sim_bench.py --skip-ros      # in-process parts only

The control-rate part starts the real sim node as its own process and counts ``/clock`` ticks from a
separate rclpy node over DDS, with two cameras at the default 224x224, once paced at the requested rate
(real_time_factor 1) and once unpaced (real_time_factor 0, the sim node's ceiling).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

import mujoco

from salus_sim.core.pick_place import PickPlaceSim, SimConfig


def physics_steps_per_second(seconds: float) -> tuple[float, float]:
    """Raw ``mj_step`` rate of the full scene, and the rate through ``PickPlaceSim.step`` (with labels)."""
    sim = PickPlaceSim(SimConfig())
    sim.reset(0)
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(500):
            mujoco.mj_step(sim.model, sim.data)
        steps += 500
    raw = steps / (time.perf_counter() - started)
    sim.reset(0)
    hold = sim.joint_positions()
    control_steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds and sim.outcome is None:
        sim.step(hold)
        control_steps += 1
    through_sim = control_steps * sim.config.substeps / (time.perf_counter() - started)
    sim.close()
    return raw, through_sim


def render_ms(size: int, frames: int, shadows: bool) -> dict[str, float]:
    sim = PickPlaceSim(SimConfig(image_width=size, image_height=size, shadows=shadows))
    sim.reset(0)
    result = {}
    for camera in sim.config.cameras:
        sim.render(camera)  # warm-up: context and texture upload
        started = time.perf_counter()
        for _ in range(frames):
            sim.render(camera)
        result[camera] = (time.perf_counter() - started) * 1e3 / frames
    sim.close()
    return result


def achieved_control_rate(real_time_factor: float, wall_seconds: float) -> float:
    """Run sim_node with an episode in progress and count /clock messages from another process."""
    import rclpy
    from ament_index_python.packages import get_package_prefix
    from rclpy.node import Node
    from rosgraph_msgs.msg import Clock

    from salus_common import contract
    from salus_msgs.srv import ResetEpisode

    exe = Path(get_package_prefix("salus_sim")) / "lib" / "salus_sim" / "sim_node"
    params = Path(tempfile.mkdtemp()) / "bench.yaml"
    # No policy drives the arm here; a long time budget keeps the episode (and its physics) running.
    params.write_text(
        "salus_sim:\n  ros__parameters:\n"
        f"    real_time_factor: {real_time_factor}\n    label:\n      max_duration_s: 1000.0\n"
    )
    sim = subprocess.Popen([str(exe), "--ros-args", "--params-file", str(params)], stdout=subprocess.DEVNULL)
    rclpy.init()
    node = Node("sim_bench")
    ticks: list[float] = []
    node.create_subscription(Clock, contract.CLOCK_TOPIC, lambda _msg: ticks.append(time.monotonic()), 100)
    try:
        client = node.create_client(ResetEpisode, contract.RESET_SERVICE)
        if not client.wait_for_service(timeout_sec=60):
            raise RuntimeError("sim_node did not come up")
        future = client.call_async(ResetEpisode.Request(seed=0))
        rclpy.spin_until_future_complete(node, future, timeout_sec=30)
        ticks.clear()
        deadline = time.monotonic() + wall_seconds
        while time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.01)
    finally:
        sim.send_signal(2)
        sim.wait(30)
        node.destroy_node()
        rclpy.shutdown()
    if len(ticks) < 2:
        return 0.0
    return (len(ticks) - 1) / (ticks[-1] - ticks[0])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each timed loop")
    parser.add_argument("--frames", type=int, default=30, help="frames per render measurement")
    parser.add_argument("--skip-ros", action="store_true", help="skip the sim-node control-rate part")
    args = parser.parse_args()
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(1, 100)))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"

    print(
        f"machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"MUJOCO_GL={os.environ.get('MUJOCO_GL', '?')}, mujoco {mujoco.__version__}, date {date.today()}"
    )
    raw, through_sim = physics_steps_per_second(args.seconds)
    print("\n| measure | value |\n|---|---|")
    print(f"| physics steps/s, raw mj_step (full scene) | {raw:,.0f} |")
    print(f"| physics steps/s through PickPlaceSim.step (labels, contacts) | {through_sim:,.0f} |")
    for size in (64, 128, 224):
        for shadows in (False, True) if size == 224 else (False,):
            ms = render_ms(size, args.frames, shadows)
            label = f"{size}x{size}, shadows {'on' if shadows else 'off'}"
            print(f"| render ms/frame, {label} | " + ", ".join(f"{c} {v:.1f}" for c, v in ms.items()) + " |")
    if not args.skip_ros:
        requested = 1.0 / SimConfig().control_dt
        paced = achieved_control_rate(1.0, args.seconds * 3)
        unpaced = achieved_control_rate(0.0, args.seconds * 3)
        print(
            f"| sim_node control rate, requested {requested:.0f} Hz (2 cameras 224x224) | "
            f"{paced:.2f} Hz achieved |"
        )
        print(
            f"| sim_node control rate, unpaced (real_time_factor 0) | {unpaced:.1f} Hz "
            f"(= {unpaced / requested:.1f}x real time) |"
        )


if __name__ == "__main__":
    main()
