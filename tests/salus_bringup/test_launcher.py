"""salus-launch as a real supervisor: real processes from a temporary ament prefix, real signals.

Each "node" is a small executable Python script installed as ``<prefix>/lib/fakepkg/<exe>``; it prints its
argv, records the signals it gets and its pid under ``$FAKE_STATE_DIR``, and exits as its ``env`` in the
temporary spec says. No rclpy: this tests supervision, not ROS.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import salus_bringup
from salus_bringup import launcher

PKG_SRC = Path(salus_bringup.__file__).resolve().parents[1]

FAKE_NODE = """\
#!{python}
import os, signal, sys, time

name = next(a.split(":=", 1)[1] for a in sys.argv if a.startswith("__node:="))
state = os.environ["FAKE_STATE_DIR"]
ignore = os.environ.get("FAKE_IGNORE_SIGNALS") == "1"

def on_signal(signum, frame):
    open(os.path.join(state, name + "." + signal.Signals(signum).name), "w").close()
    if not ignore:
        sys.exit(0)

signal.signal(signal.SIGINT, on_signal)
signal.signal(signal.SIGTERM, on_signal)
with open(os.path.join(state, name + ".pid"), "w") as f:
    f.write(str(os.getpid()))
print("argv " + " ".join(sys.argv[1:]))
print("ready", flush=True)
exit_after = os.environ.get("FAKE_EXIT_AFTER")
deadline = time.monotonic() + float(exit_after) if exit_after else None
while deadline is None or time.monotonic() < deadline:
    time.sleep(0.01)
print("exiting", flush=True)
sys.exit(int(os.environ.get("FAKE_EXIT_CODE", "0")))
"""


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    """An ament prefix with package ``fakepkg`` holding the executable ``node``."""
    root = tmp_path / "prefix"
    marker = root / "share" / "ament_index" / "resource_index" / "packages" / "fakepkg"
    marker.parent.mkdir(parents=True)
    marker.touch()
    exe = root / "lib" / "fakepkg" / "node"
    exe.parent.mkdir(parents=True)
    exe.write_text(FAKE_NODE.format(python=sys.executable))
    exe.chmod(0o755)
    return root


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


def node(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "package": "fakepkg", "executable": "node", **extra}


def write_spec(tmp_path: Path, nodes: list[dict[str, Any]]) -> Path:
    """A spec under tmp_path/repo/config; ``episodes`` sets the runner's parameter when there is a runner."""
    config = tmp_path / "repo" / "config"
    config.mkdir(parents=True)
    (config / "runner.yaml").write_text("runner:\n  ros__parameters: {num_episodes: 1}\n")
    episodes: dict[str, Any] = {"default": "1", "description": "episodes"}
    if any(n["name"] == "runner" for n in nodes):
        episodes["sets"] = "runner.num_episodes"
    spec = {"arguments": {"episodes": episodes}, "nodes": nodes}
    path = config / "graph.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


class LauncherRun:
    """``python -m salus_bringup.launcher`` in a subprocess, its output collected as it comes."""

    def __init__(self, spec: Path, prefix: Path, state: Path, *args: str) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PKG_SRC), env.get("PYTHONPATH")]))
        env["AMENT_PREFIX_PATH"] = str(prefix)
        env["FAKE_STATE_DIR"] = str(state)
        cmd = [sys.executable, "-m", "salus_bringup.launcher", "--spec", str(spec), *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._threads = [
            threading.Thread(target=self._collect, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._collect, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _collect(stream: Any, sink: list[str]) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))

    def wait_for_stdout(self, lines: set[str], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not lines <= set(self.stdout):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(
                    f"missing {lines - set(self.stdout)}; stdout={self.stdout} stderr={self.stderr}"
                )
            time.sleep(0.02)

    def finish(self, timeout: float = 10.0) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"launcher still running; stdout={self.stdout} stderr={self.stderr}"
            ) from None
        for thread in self._threads:
            thread.join(timeout=2.0)
        return code

    @property
    def err(self) -> str:
        return "\n".join(self.stderr)


def assert_gone(state: Path, *names: str) -> None:
    """Every named node process has exited and was reaped (no running process, no zombie)."""
    for name in names:
        pid = int((state / f"{name}.pid").read_text())
        deadline = time.monotonic() + 2.0
        while True:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except FileNotFoundError:
                break
            assert time.monotonic() < deadline, (
                f"node {name} (pid {pid}) still exists: {status.splitlines()[2]}"
            )
            time.sleep(0.02)


def signals_seen(state: Path, name: str) -> set[str]:
    return {p.suffix[1:] for p in state.glob(f"{name}.SIG*")}


# --------------------------------------------------------------------------- the graph ends by itself


def test_ends_graph_node_exit_zero_stops_the_others_and_exits_zero(
    tmp_path: Path, prefix: Path, state: Path
) -> None:
    spec = write_spec(
        tmp_path,
        [
            node("sim", required=True, remap={"/joint_command": "/safe/joint_command"}),
            node("aux", env={"FAKE_EXIT_AFTER": "0", "FAKE_EXIT_CODE": "5"}),
            node("runner", params=["runner.yaml"], required=True, ends_graph=True,
                 env={"FAKE_EXIT_AFTER": "1.0"}),
        ],
    )  # fmt: skip
    log_dir = tmp_path / "logs"
    run = LauncherRun(spec, prefix, state, "--log-dir", str(log_dir), "episodes:=7")
    assert run.finish() == 0, run.err
    assert "[runner] exiting" in run.stdout and "[sim] ready" in run.stdout
    assert all(line.startswith(("[sim] ", "[aux] ", "[runner] ")) for line in run.stdout), run.stdout
    assert "node 'aux' exited with code 5 (not required; the graph goes on)" in run.err
    assert "node 'runner' finished (code 0) — ending the graph" in run.err
    runner_argv = next(line for line in run.stdout if line.startswith("[runner] argv"))
    assert f"--params-file {spec.parent / 'runner.yaml'}" in runner_argv
    assert "-p runner:num_episodes:=7" in runner_argv
    assert "-r /joint_command:=/safe/joint_command" in next(
        line for line in run.stdout if line.startswith("[sim] argv")
    )
    assert signals_seen(state, "sim") == {"SIGINT"}
    assert_gone(state, "sim", "aux", "runner")
    assert (log_dir / "runner.log").read_text().splitlines()[-2:] == ["ready", "exiting"]
    assert "ending the graph" in (log_dir / "salus-launch.log").read_text()


def test_required_node_failure_stops_the_graph_and_exits_nonzero(
    tmp_path: Path, prefix: Path, state: Path
) -> None:
    spec = write_spec(
        tmp_path,
        [
            node("sim", required=True, env={"FAKE_EXIT_AFTER": "0.3", "FAKE_EXIT_CODE": "3"}),
            node("runner", required=True, ends_graph=True),
        ],
    )
    run = LauncherRun(spec, prefix, state)
    assert run.finish() == launcher.EXIT_FAILED
    assert "required node 'sim' exited with code 3 — shutting down the graph" in run.err
    assert signals_seen(state, "runner") == {"SIGINT"}
    assert_gone(state, "sim", "runner")


# --------------------------------------------------------------------------- signals


def test_sigint_is_forwarded_and_the_launcher_exits_130(tmp_path: Path, prefix: Path, state: Path) -> None:
    spec = write_spec(tmp_path, [node("sim", required=True), node("runner", required=True, ends_graph=True)])
    run = LauncherRun(spec, prefix, state)
    run.wait_for_stdout({"[sim] ready", "[runner] ready"})
    started = time.monotonic()
    run.proc.send_signal(signal.SIGINT)
    assert run.finish(timeout=5.0) == launcher.EXIT_INTERRUPTED, run.err
    assert time.monotonic() - started < 3.0
    assert signals_seen(state, "sim") == signals_seen(state, "runner") == {"SIGINT"}
    assert "SIGINT received — shutting down the graph" in run.err
    assert_gone(state, "sim", "runner")


def test_nodes_get_sigterm_when_the_launcher_is_killed(tmp_path: Path, prefix: Path, state: Path) -> None:
    spec = write_spec(tmp_path, [node("sim", required=True), node("runner", required=True, ends_graph=True)])
    run = LauncherRun(spec, prefix, state)
    run.wait_for_stdout({"[sim] ready", "[runner] ready"})
    run.proc.kill()  # SIGKILL: the launcher gets no chance to clean up
    run.finish(timeout=5.0)
    deadline = time.monotonic() + 5.0
    while signals_seen(state, "sim") != {"SIGTERM"} or signals_seen(state, "runner") != {"SIGTERM"}:
        assert time.monotonic() < deadline, (signals_seen(state, "sim"), signals_seen(state, "runner"))
        time.sleep(0.02)


def test_stubborn_node_gets_sigterm_then_sigkill(tmp_path: Path, prefix: Path, state: Path) -> None:
    spec = write_spec(tmp_path, [node("stubborn", env={"FAKE_IGNORE_SIGNALS": "1"}), node("sim")])
    run = LauncherRun(spec, prefix, state, "--sigterm-timeout", "0.3", "--sigkill-timeout", "0.3")
    run.wait_for_stdout({"[stubborn] ready", "[sim] ready"})
    run.proc.send_signal(signal.SIGTERM)
    assert run.finish(timeout=5.0) == launcher.EXIT_OK, run.err
    assert signals_seen(state, "stubborn") == {"SIGINT", "SIGTERM"}
    assert signals_seen(state, "sim") == {"SIGINT"}
    assert "still running after SIGINT: stubborn — escalating" in run.err
    assert "node 'stubborn' exited with code -9 (SIGKILL)" in run.err
    assert_gone(state, "stubborn", "sim")


# --------------------------------------------------------------------------- errors before anything starts


def test_missing_package_or_executable_is_named(
    tmp_path: Path, prefix: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    spec = write_spec(tmp_path, [node("runner"), {"name": "vla", "package": "nopkg", "executable": "x"}])
    assert launcher.main(["--spec", str(spec)]) == launcher.EXIT_USAGE
    assert "node 'vla': package 'nopkg' not found" in capsys.readouterr().err

    spec.write_text(spec.read_text().replace("package: nopkg", "package: fakepkg"))
    assert launcher.main(["--spec", str(spec)]) == launcher.EXIT_USAGE
    assert f"node 'vla': executable not found: {prefix / 'lib' / 'fakepkg' / 'x'}" in capsys.readouterr().err


def test_bad_argument_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, [node("runner")])
    assert launcher.main(["--spec", str(spec), "episodes=3"]) == launcher.EXIT_USAGE
    assert "NAME:=VALUE, got 'episodes=3'" in capsys.readouterr().err
    assert launcher.main(["--spec", str(spec), "episdoes:=3"]) == launcher.EXIT_USAGE
    assert "unknown launch argument 'episdoes'" in capsys.readouterr().err


def test_show_prints_the_resolved_graph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, [node("runner", params=["runner.yaml"], required=True, ends_graph=True)])
    assert launcher.main(["--spec", str(spec), "--show", "episodes:=9"]) == launcher.EXIT_OK
    out = capsys.readouterr().out
    assert "episodes:=9" in out
    assert "runner: fakepkg/node  [required, ends_graph]" in out
    assert "override:    num_episodes = 9" in out
    assert "-p runner:num_episodes:=9" in out
