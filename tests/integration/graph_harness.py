"""Helpers for tests that run real SALUS nodes as processes over DDS and watch them from this process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def require_workspace() -> None:
    """Skip cleanly with a reason when the colcon workspace is not built/sourced (pure-unit test runs)."""
    try:
        from ament_index_python.packages import get_package_prefix

        get_package_prefix("salus_sim")
        import salus_msgs.msg  # noqa: F401
    except Exception as err:  # pragma: no cover - only without ./salus setup
        pytest.skip(f"built workspace not sourced (run ./salus test): {err}")


def node_executable(package: str, executable: str) -> str:
    from ament_index_python.packages import get_package_prefix

    return str(Path(get_package_prefix(package)) / "lib" / package / executable)


def write_params(path: Path, params: dict[str, dict]) -> Path:
    """A node-name keyed ROS 2 params file from ``{node: {param: value}}`` (nested dicts allowed)."""
    path.write_text(yaml.safe_dump({node: {"ros__parameters": values} for node, values in params.items()}))
    return path


def start_node(
    package: str,
    executable: str,
    log_path: Path,
    params_files: list[Path] = (),
    overrides: dict[str, object] | None = None,
    remaps: dict[str, str] | None = None,
) -> subprocess.Popen:
    argv = [node_executable(package, executable), "--ros-args"]
    for params_file in params_files:
        argv += ["--params-file", str(params_file)]
    for key, value in (overrides or {}).items():
        argv += ["-p", f"{key}:={value}"]
    for source, target in (remaps or {}).items():
        argv += ["-r", f"{source}:={target}"]
    log = log_path.open("w")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())


def run_until_exit(
    package: str,
    executable: str,
    log_path: Path,
    params_files: list[Path] = (),
    overrides: dict[str, object] | None = None,
    timeout: float = 120.0,
) -> tuple[int, str]:
    """Start a node that is expected to stop by itself (e.g. a start-up failure): (exit code, its log)."""
    process = start_node(package, executable, log_path, params_files, overrides)
    try:
        code = process.wait(timeout)
    finally:
        stop(process)
    return code, log_path.read_text()


def stop(process: subprocess.Popen, timeout: float = 10.0) -> int:
    if process.poll() is None:
        process.send_signal(2)  # SIGINT, like Ctrl-C
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def launcher_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "salus_bringup.launcher", *arguments]


class Observer:
    """An rclpy node in this test process that keeps every message of the topics it is asked to watch."""

    def __init__(self, name: str = "salus_test_observer") -> None:
        import rclpy
        from rclpy.node import Node

        self.rclpy = rclpy
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node(name, context=self.context)
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.messages: dict[str, list] = defaultdict(list)

    def watch(self, msg_type, topic: str, qos) -> None:
        self.node.create_subscription(msg_type, topic, lambda msg: self.messages[topic].append(msg), qos)

    def spin_until(
        self, condition: Callable[[], bool], timeout: float, alive: Callable[[], bool] = None
    ) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            if alive is not None and not alive():
                return condition()
            self.executor.spin_once(timeout_sec=0.05)
        return condition()

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        self.rclpy.try_shutdown(context=self.context)
