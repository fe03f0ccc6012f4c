"""salus-launch: start the SALUS graph from ``config/graph.yaml`` without ``ros2 launch``.

Why: ``launch``/``launch_ros`` do not install from pip, so on pip-only machines this supervisor starts
each node of the spec as its own OS process (own process group), with the same ``--ros-args`` that
``launch/salus.launch.py`` passes, prefixes their output with ``[name]``, and ends the graph the way the
spec says (``required`` / ``ends_graph``).

Usage::

    salus-launch                                  # defaults of config/graph.yaml
    salus-launch episodes:=20 seed:=100 robot:=mujoco
    salus-launch --show robot:=isaac              # print the resolved graph and exit
    salus-launch --log-dir runs/launch-001 params_file:=my_overrides.yaml
    python -m salus_bringup.launcher --spec path/to/graph.yaml ...

Shutdown: on Ctrl-C / SIGTERM / SIGHUP, or when the graph ends, every node's process group gets SIGINT,
then SIGTERM after ``--sigterm-timeout`` s, then SIGKILL after ``--sigkill-timeout`` s more (a second
Ctrl-C escalates at once).

Exit codes: 0 the graph ended normally (an ``ends_graph`` node exited 0, every node exited, or a
SIGTERM/SIGHUP stop); 1 a required node (or an ``ends_graph`` node) failed, or a node could not start;
2 a usage, spec, argument or missing package/executable error, before anything started; 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from salus_bringup.graph_spec import (
    ExitAction,
    NodeLaunch,
    describe,
    describe_returncode,
    exit_action,
    find_spec,
    load_spec,
    parse_launch_arguments,
    resolve,
    resolve_arguments,
    ros_args,
)
from salus_common.process import terminate_with_parent

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_POLL_S = 0.05


class LaunchError(RuntimeError):
    """Something the user must fix before the graph can start (missing package or executable)."""


# --------------------------------------------------------------------------- locating executables


def find_executable(node: NodeLaunch) -> Path:
    """``<prefix>/lib/<package>/<executable>`` from the ament index, as ``ros2 run`` finds it."""
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    try:
        prefix = Path(get_package_prefix(node.package))
    except (PackageNotFoundError, LookupError, ValueError) as err:
        path = os.environ.get("AMENT_PREFIX_PATH", "")
        raise LaunchError(
            f"node '{node.name}': package '{node.package}' not found (AMENT_PREFIX_PATH={path!r}); "
            "build the workspace and source install/setup.bash"
        ) from err
    exe = prefix / "lib" / node.package / node.executable
    if not exe.is_file():
        raise LaunchError(f"node '{node.name}': executable not found: {exe}")
    if not os.access(exe, os.X_OK):
        raise LaunchError(f"node '{node.name}': not executable: {exe}")
    return exe


def node_command(node: NodeLaunch, executable: Path) -> list[str]:
    """The full argv of one node process."""
    return [str(executable), *ros_args(node)]


def node_environment(node: NodeLaunch, base: dict[str, str] | None = None) -> dict[str, str]:
    """Inherited environment + unbuffered Python (so lines arrive as printed) + the node's ``env``."""
    env = dict(os.environ if base is None else base)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(node.env)
    return env


# --------------------------------------------------------------------------- output


class Output:
    """Serialises lines from many threads to the terminal and optional log files."""

    def __init__(self, log_dir: Path | None) -> None:
        self._lock = threading.Lock()
        self._terminal_ok = True
        self._log_dir = log_dir
        self._own_log: IO[str] | None = None
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            self._own_log = open(log_dir / "salus-launch.log", "w", encoding="utf-8")  # noqa: SIM115

    def node_log(self, name: str) -> IO[str] | None:
        """A per-node log file in ``--log-dir`` (raw lines, no prefix), or None."""
        if self._log_dir is None:
            return None
        return open(self._log_dir / f"{name}.log", "w", encoding="utf-8")  # noqa: SIM115

    def node_line(self, name: str, line: str, log: IO[str] | None) -> None:
        with self._lock:
            if self._terminal_ok:
                try:
                    sys.stdout.write(f"[{name}] {line}\n")
                    sys.stdout.flush()
                except OSError:  # e.g. `salus-launch | head` closed: keep draining, or the node blocks
                    self._terminal_ok = False
            if log is not None:
                log.write(line + "\n")
                log.flush()

    def info(self, message: str) -> None:
        with self._lock:
            sys.stderr.write(f"[salus-launch] {message}\n")
            sys.stderr.flush()
            if self._own_log is not None:
                self._own_log.write(f"{time.strftime('%H:%M:%S')} {message}\n")
                self._own_log.flush()

    def close(self) -> None:
        if self._own_log is not None:
            self._own_log.close()


def pump_lines(stream: IO[bytes], name: str, output: Output, log: IO[str] | None) -> None:
    """Copy a child's merged stdout/stderr line by line, prefixed with its node name."""
    try:
        for raw in iter(stream.readline, b""):
            output.node_line(name, raw.decode("utf-8", errors="replace").rstrip("\r\n"), log)
    finally:
        stream.close()
        if log is not None:
            log.close()


# --------------------------------------------------------------------------- supervision


@dataclass
class NodeProcess:
    """A started node: its spec entry, process and output thread."""

    launch: NodeLaunch
    popen: subprocess.Popen[bytes]
    reader: threading.Thread
    returncode: int | None = None

    def poll(self) -> bool:
        """Record the exit code once; True exactly when the process has just been seen to exit."""
        if self.returncode is not None:
            return False
        code = self.popen.poll()
        if code is None:
            return False
        self.returncode = code
        return True

    def signal_group(self, signum: int) -> None:
        """Signal the node's whole process group (helpers it spawned included)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)


@dataclass
class Supervisor:
    """Starts the nodes, watches their exits and signals, and stops everything in order."""

    nodes: Sequence[tuple[NodeLaunch, Path]]
    output: Output
    sigterm_timeout: float = 5.0
    sigkill_timeout: float = 5.0
    processes: list[NodeProcess] = field(default_factory=list)
    _signals: list[int] = field(default_factory=list)

    def run(self) -> int:
        """Start, watch, stop; the stop runs whatever happens, so no node outlives the launcher."""
        previous = self._install_signal_handlers()
        try:
            code = self._start_all()
            return self._watch() if code is None else code
        finally:
            self._stop_all()
            self._restore_signal_handlers(previous)

    # -- signals

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._signals.append(signum)

    def _install_signal_handlers(self) -> dict[int, object]:
        """Catch stop signals (children then start with default dispositions, not our handler)."""
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {s: signal.signal(s, self._on_signal) for s in _STOP_SIGNALS}

    @staticmethod
    def _restore_signal_handlers(previous: dict[int, object]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]

    def _signal_exit_code(self) -> int:
        first = self._signals[0]
        return EXIT_INTERRUPTED if first == signal.SIGINT else EXIT_OK

    # -- start

    def _start_all(self) -> int | None:
        """Start every node in spec order; an exit code if starting failed or a signal came first."""
        for launch, exe in self.nodes:
            if self._signals:
                self.output.info(f"{signal.Signals(self._signals[0]).name} received while starting")
                return self._signal_exit_code()
            try:
                self.processes.append(self._start(launch, exe))
            except OSError as err:
                self.output.info(f"could not start node '{launch.name}' ({exe}): {err}")
                return EXIT_FAILED
        return None

    def _start(self, launch: NodeLaunch, exe: Path) -> NodeProcess:
        cmd = node_command(launch, exe)
        popen = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=node_environment(launch),
            process_group=0,
            preexec_fn=terminate_with_parent,
        )
        assert popen.stdout is not None
        reader = threading.Thread(
            target=pump_lines,
            args=(popen.stdout, launch.name, self.output, self.output.node_log(launch.name)),
            name=f"output-{launch.name}",
            daemon=True,
        )
        reader.start()
        self.output.info(f"started '{launch.name}' (pid {popen.pid}): {shlex.join(cmd)}")
        return NodeProcess(launch, popen, reader)

    # -- watch

    def _watch(self) -> int:
        """Wait for a signal or a graph-ending exit; the exit code the launcher should return."""
        while True:
            if self._signals:
                name = signal.Signals(self._signals[0]).name
                self.output.info(f"{name} received — shutting down the graph")
                return self._signal_exit_code()
            for proc in self.processes:
                if not proc.poll():
                    continue
                action, message = exit_action(proc.launch, proc.returncode or 0)
                self.output.info(message)
                if action is ExitAction.END:
                    return EXIT_OK
                if action is ExitAction.FAIL:
                    return EXIT_FAILED
            if all(p.returncode is not None for p in self.processes):
                self.output.info("every node has exited")
                return EXIT_OK
            time.sleep(_POLL_S)

    # -- stop

    def _stop_all(self) -> None:
        """SIGINT, then SIGTERM, then SIGKILL to every live node; reap all; sweep leftover groups."""
        steps = ((signal.SIGINT, self.sigterm_timeout), (signal.SIGTERM, self.sigkill_timeout))
        for signum, timeout in steps:
            live = self._live()
            if not live:
                break
            for proc in live:
                proc.signal_group(signum)
            if self._wait_exits(timeout):
                break
            names = ", ".join(p.launch.name for p in self._live())
            self.output.info(f"still running after {signal.Signals(signum).name}: {names} — escalating")
        else:
            for proc in self._live():
                proc.signal_group(signal.SIGKILL)
            self._wait_exits(None)
        for proc in self.processes:
            proc.popen.wait()  # reaped already by poll(); keeps the no-zombie promise explicit
            proc.signal_group(signal.SIGKILL)  # helpers a node left behind in its group
            proc.reader.join(timeout=1.0)

    def _live(self) -> list[NodeProcess]:
        return [p for p in self.processes if p.returncode is None and p.popen.poll() is None]

    def _wait_exits(self, timeout: float | None) -> bool:
        """Wait until every node exited (True), the timeout passed, or another stop signal came."""
        deadline = None if timeout is None else time.monotonic() + timeout
        signals_seen = len(self._signals)
        while True:
            for proc in self.processes:
                if proc.poll():
                    code = describe_returncode(proc.returncode or 0)
                    self.output.info(f"node '{proc.launch.name}' exited with {code}")
            if all(p.returncode is not None for p in self.processes):
                return True
            if len(self._signals) > signals_seen:
                self.output.info("stop signal received again — escalating now")
                return False
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_S)


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salus-launch",
        description="Start the SALUS node graph described by config/graph.yaml, one process per node.",
        epilog="Launch arguments use ros2 launch syntax: NAME:=VALUE (see --show for the resolved graph).",
    )
    parser.add_argument("--spec", help="graph spec (default: $SALUS_GRAPH_SPEC or config/graph.yaml upward)")
    parser.add_argument("--log-dir", type=Path, help="also write each node's output to DIR/<node>.log")
    parser.add_argument("--show", action="store_true", help="print the resolved graph and exit")
    parser.add_argument(
        "--sigterm-timeout", type=float, default=5.0, help="seconds after SIGINT before SIGTERM (default 5)"
    )
    parser.add_argument(
        "--sigkill-timeout", type=float, default=5.0, help="seconds after SIGTERM before SIGKILL (default 5)"
    )
    parser.add_argument("arguments", nargs="*", metavar="NAME:=VALUE", help="launch arguments")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    opts = parser.parse_args(argv)
    try:
        spec = load_spec(find_spec(opts.spec))
        values = parse_launch_arguments(opts.arguments)
        args = resolve_arguments(spec, values)
        nodes = resolve(spec, values)
        if opts.show:
            print(f"spec: {spec.path}")
            print(describe(nodes, args))
            return EXIT_OK
        located = [(node, find_executable(node)) for node in nodes]
    except (ValueError, LaunchError) as err:
        print(f"salus-launch: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        output = Output(opts.log_dir)
    except OSError as err:
        print(f"salus-launch: error: cannot write logs to {opts.log_dir}: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        output.info(f"spec {spec.path}: " + " ".join(f"{k}:={v}" for k, v in args.items()))
        supervisor = Supervisor(located, output, opts.sigterm_timeout, opts.sigkill_timeout)
        return supervisor.run()
    finally:
        output.close()


if __name__ == "__main__":
    sys.exit(main())
