"""salus-collect: run the closed loop over many seeds with failure injection and record one bag per episode.

Each batch of seeds runs through the real graph (``salus-launch record:=bag``: simulator, policy, episode
runner, ``bag_recorder``), so a collection records exactly what the stack publishes. Usage::

    salus-collect --bag-dir data/bags --episodes 200                      # expert, no injection
    salus-collect --bag-dir data/bags --episodes 400 --inject none push gripper_fault obstacle+push
    salus-collect --bag-dir data/bags --episodes 400 --workers 8 --real-time-factor 2   # 16-core machine
    salus-collect --bag-dir data/vla --episodes 100 --policy vla --graph-arg checkpoint:=models/default
    salus-collect --bag-dir data/bags --episodes 200                      # again: resumes, no duplicates

Seeds: ``--seed S --episodes N`` asks for seeds S..S+N-1. Scenarios: ``--inject`` lists scenarios, each
``none`` or injection types joined by ``+`` (switched on with their ``config/sim.yaml`` ranges, sampled
per seed by the simulator); seed ``s`` gets scenario ``scenarios[(s // block_size) % len(scenarios)]``,
a pure function of the seed, so a resumed or re-split collection gives each seed the same scenario.

Parallel: ``--workers W`` runs W independent graphs at once, each in its own ``ROS_DOMAIN_ID``
(``--domain-id`` + worker index, localhost discovery), on batches of at most ``--block-size`` seeds.

Progress: a tqdm bar with episodes done / total, outcome counts and ETA, and one line per episode.
Manifest: ``BAG_DIR/manifest.jsonl``, one JSON line per finished episode (seed, episode id, bag, outcome,
onset, injections, scenario, policy, wall time), appended when the bag is complete on disk (the runner
reports an episode only after the recorder acknowledged its bag).

Resume: seeds already in the manifest are skipped. Complete bags on disk that the manifest lacks (the
collector died between a bag and its line) are adopted into it from their own episode events. A graph
that fails (a node crashed, e.g. the recorder was killed) loses only its open episode: the unfinished
bag stays in a hidden ``.tmp-<pid>`` folder that is removed, and the batch's remaining seeds are retried
(``--retries``). Ctrl-C stops every graph; run the same command again to continue.

Exit codes: 0 every requested seed is in the manifest; 1 some seeds failed after retries; 2 bad
arguments; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from salus_common.names import PERTURBATION_TYPES
from salus_common.process import terminate_with_parent
from salus_data.bag_writer import bag_name, remove_stale_partials

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
MANIFEST = "manifest.jsonl"
WORK_DIR = ".collect"
LOCK_FILE = ".collect.lock"
_POLL_S = 0.2


class CollectError(ValueError):
    """Bad arguments or a bag folder the collector cannot use."""


# --------------------------------------------------------------------------- seeds and scenarios


def injection_types() -> list[str]:
    return list(PERTURBATION_TYPES)


def parse_scenarios(items: Sequence[str]) -> list[str]:
    """Validate ``none`` / ``type+type`` scenario names; returns them normalized (types sorted)."""
    known = injection_types()
    scenarios = []
    for item in items or ["none"]:
        if item == "none":
            scenarios.append("none")
            continue
        types = item.split("+")
        unknown = [t for t in types if t not in known]
        if unknown or len(set(types)) != len(types):
            raise CollectError(f"--inject {item!r}: unknown or repeated types {unknown}; choose from {known}")
        scenarios.append("+".join(sorted(types)))
    return scenarios


def scenario_types(scenario: str) -> list[str]:
    return [] if scenario == "none" else scenario.split("+")


def scenario_of(seed: int, scenarios: Sequence[str], block_size: int) -> str:
    return scenarios[(seed // block_size) % len(scenarios)]


@dataclass(frozen=True)
class Unit:
    """A batch of consecutive seeds with one scenario: one graph run."""

    scenario: str
    first_seed: int
    count: int
    attempt: int = 0

    @property
    def seeds(self) -> range:
        return range(self.first_seed, self.first_seed + self.count)

    @property
    def name(self) -> str:
        return f"seeds{self.first_seed:06d}-{self.first_seed + self.count - 1:06d}-try{self.attempt}"


def plan_units(seeds: Iterable[int], scenarios: Sequence[str], block_size: int) -> list[Unit]:
    """Runs of consecutive seeds with the same scenario, at most ``block_size`` long."""
    units: list[Unit] = []
    for seed in sorted(set(seeds)):
        scenario = scenario_of(seed, scenarios, block_size)
        last = units[-1] if units else None
        if (
            last is not None
            and last.scenario == scenario
            and last.first_seed + last.count == seed
            and last.count < block_size
        ):
            units[-1] = Unit(scenario, last.first_seed, last.count + 1)
        else:
            units.append(Unit(scenario, seed, 1))
    return units


# --------------------------------------------------------------------------- manifest


def read_manifest(path: Path) -> dict[int, dict[str, Any]]:
    """Seed -> its latest manifest record (a torn last line from a crash is ignored)."""
    records: dict[int, dict[str, Any]] = {}
    if not path.is_file():
        return records
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        records[int(record["seed"])] = record
    return records


def append_manifest(path: Path, record: dict[str, Any]) -> None:
    with path.open("a") as stream:
        stream.write(json.dumps(record, sort_keys=True) + "\n")
        stream.flush()
        os.fsync(stream.fileno())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def adopt_orphan_bags(bag_dir: Path, known: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Manifest records for complete bags on disk whose seed the manifest lacks."""
    from salus_data.bag_reader import BagReadError, read_custom_data, read_episode_infos

    adopted = []
    for path in sorted(bag_dir.glob("seed*")):
        if not (path / "metadata.yaml").is_file():
            continue
        try:
            infos = read_episode_infos(path)
        except BagReadError as err:
            print(f"salus-collect: warning: {err}", file=sys.stderr)
            continue
        for info in infos:
            if info.seed in known or bag_name(info.seed) != path.name:
                continue
            metadata = json.loads(read_custom_data(path).get("salus.metadata", "{}") or "{}")
            adopted.append(
                {
                    "seed": info.seed,
                    "episode_id": info.episode_id,
                    "bag": path.name,
                    "outcome": info.outcome,
                    "failure_onset_s": None if math.isnan(info.failure_onset_s) else info.failure_onset_s,
                    "duration_s": info.duration_s,
                    "perturbations": list(info.perturbations),
                    "perturbation_params": info.perturbation_params,
                    "scenario": metadata.get("scenario"),
                    "policy": metadata.get("policy"),
                    "adopted": True,
                    "finished_at": _now(),
                }
            )
    return adopted


# --------------------------------------------------------------------------- graph runs


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _ros_params(params: dict[str, Any]) -> dict[str, Any]:
    return {node: {"ros__parameters": values} for node, values in params.items()}


def _from_params_file(path: Path) -> dict[str, Any]:
    """A node-keyed params file as {node: {param: value}} (its ``ros__parameters`` level removed)."""
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise CollectError(f"--params-file {path}: expected a mapping of node names")
    out = {}
    for node, body in data.items():
        if not isinstance(body, dict) or not isinstance(body.get("ros__parameters", {}), dict):
            raise CollectError(f"--params-file {path}: {node!r} must hold ros__parameters")
        out[node] = body.get("ros__parameters", {})
    return out


@dataclass
class Running:
    unit: Unit
    worker: int
    popen: subprocess.Popen[bytes]
    results: Path
    log: Path
    started: float
    offset: int = 0
    finished: set[int] = field(default_factory=set)


@dataclass
class CollectConfig:
    bag_dir: Path
    seeds: list[int]
    scenarios: list[str]
    block_size: int = 10
    workers: int = 1
    policy: str = "vla"
    graph_args: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)  # node -> params, merged into every run
    image_size: int | None = None
    real_time_factor: float | None = None
    retries: int = 2
    domain_id: int = 0
    progress: bool = True
    recorder_wait_s: float = 120.0


class Collector:
    """Schedules units on up to ``workers`` graphs, tails their results, keeps the manifest."""

    def __init__(self, config: CollectConfig) -> None:
        self.config = config
        self.bag_dir = config.bag_dir
        self.manifest_path = self.bag_dir / MANIFEST
        self.work = self.bag_dir / WORK_DIR
        self.records = read_manifest(self.manifest_path)
        self.queue: deque[Unit] = deque()
        self.running: list[Running] = []
        self.failed: dict[int, str] = {}
        self.stop_signal: int | None = None
        self.bar = None

    # -- set-up

    def prepare(self) -> list[int]:
        """Clean leftovers, adopt orphan bags, check bags of manifest seeds; the seeds still to record."""
        for path in remove_stale_partials(self.bag_dir):
            self._say(f"removed the unfinished bag of a dead recorder: {path}")
        for record in adopt_orphan_bags(self.bag_dir, self.records):
            append_manifest(self.manifest_path, record)
            self.records[record["seed"]] = record
            self._say(f"adopted {record['bag']} ({record['outcome']}) into the manifest")
        todo = []
        for seed in self.config.seeds:
            record = self.records.get(seed)
            if record is not None and not (self.bag_dir / record["bag"]).is_dir():
                self._say(
                    f"seed {seed} is in the manifest but its bag {record['bag']} is gone: recording again"
                )
                del self.records[seed]
            if seed not in self.records:
                todo.append(seed)
        self.queue.extend(plan_units(todo, self.config.scenarios, self.config.block_size))
        return todo

    # -- running

    def run(self) -> int:
        from tqdm import tqdm

        requested = self.config.seeds
        done_before = sum(1 for s in requested if s in self.records)
        self.work.mkdir(parents=True, exist_ok=True)
        with tqdm(
            total=len(requested),
            initial=done_before,
            unit="ep",
            desc="episodes",
            dynamic_ncols=True,
            mininterval=0.5,
            disable=not self.config.progress,
            file=sys.stderr,
        ) as bar:
            self.bar = bar
            self._update_postfix()
            previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
            try:
                while (self.queue or self.running) and self.stop_signal is None:
                    self._start_free_workers()
                    self._poll()
                    time.sleep(_POLL_S)
            finally:
                self._stop_all()
                for signum, handler in previous.items():
                    signal.signal(signum, handler)
            self.bar = None
        if self.stop_signal is not None:
            return EXIT_INTERRUPTED
        return EXIT_FAILED if self.failed else EXIT_OK

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum

    def _start_free_workers(self) -> None:
        busy = {r.worker for r in self.running}
        for worker in range(self.config.workers):
            if not self.queue:
                return
            if worker not in busy:
                self.running.append(self._start(self.queue.popleft(), worker))

    def _unit_params(self, unit: Unit, results: Path) -> dict[str, Any]:
        config = self.config
        sim: dict[str, Any] = {}
        if config.image_size:
            sim.update(image_width=config.image_size, image_height=config.image_size)
        if config.real_time_factor is not None:
            sim["real_time_factor"] = config.real_time_factor
        types = scenario_types(unit.scenario)
        if types:
            sim["injection"] = {name: {"enabled": True} for name in types}
        graph = deep_merge(config.params, {"salus_sim": sim} if sim else {})
        metadata = {
            "scenario": unit.scenario,
            "injection_types": types,
            "policy": config.policy,
            "graph_args": self._graph_arguments(unit)[:-1],
            "params": graph,
            "collector": "salus-collect",
        }
        own = {
            "episode_runner": {"results_path": str(results), "recorder_wait_s": config.recorder_wait_s},
            "bag_recorder": {"metadata_json": json.dumps(metadata, sort_keys=True)},
        }
        return deep_merge(graph, own)

    def _graph_arguments(self, unit: Unit, params_file: Path | None = None) -> list[str]:
        return [
            "record:=bag",
            f"bag_dir:={self.bag_dir}",
            f"policy:={self.config.policy}",
            f"episodes:={unit.count}",
            f"seed:={unit.first_seed}",
            *self.config.graph_args,
            f"params_file:={params_file or ''}",
        ]

    def _start(self, unit: Unit, worker: int) -> Running:
        results = self.work / f"{unit.name}.results.jsonl"
        results.unlink(missing_ok=True)
        params_file = self.work / f"{unit.name}.params.yaml"
        params_file.write_text(yaml.safe_dump(_ros_params(self._unit_params(unit, results)), sort_keys=False))
        log = self.work / f"{unit.name}.log"
        command = [
            sys.executable,
            "-m",
            "salus_bringup.launcher",
            *self._graph_arguments(unit, params_file),
        ]
        env = dict(os.environ)
        env["ROS_DOMAIN_ID"] = str(self.config.domain_id + worker)
        env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        env["PYTHONUNBUFFERED"] = "1"
        with log.open("wb") as stream:
            popen = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=stream,
                stderr=subprocess.STDOUT,
                env=env,
                process_group=0,
                preexec_fn=terminate_with_parent,
            )
        self._say(
            f"worker {worker} (ROS_DOMAIN_ID {env['ROS_DOMAIN_ID']}): seeds {unit.first_seed}.."
            f"{unit.first_seed + unit.count - 1} [{unit.scenario}]"
            + (f", attempt {unit.attempt + 1}" if unit.attempt else "")
        )
        return Running(unit, worker, popen, results, log, time.monotonic())

    def _poll(self) -> None:
        for run in list(self.running):
            exited = run.popen.poll() is not None
            self._read_results(run)  # after poll(): an exited graph's last lines are already written
            if exited:
                self.running.remove(run)
                self._finished(run, run.popen.returncode)

    def _read_results(self, run: Running) -> None:
        if not run.results.is_file():
            return
        with run.results.open("rb") as stream:
            stream.seek(run.offset)
            chunk = stream.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        run.offset += len(complete)
        for line in complete.decode().splitlines():
            if line.strip():
                self._episode_done(run, json.loads(line))

    def _episode_done(self, run: Running, result: dict[str, Any]) -> None:
        seed = int(result["seed"])
        name = bag_name(seed)
        if not (self.bag_dir / name).is_dir():
            self._say(f"seed {seed}: the runner reported {result['outcome']} but {name} is not on disk")
            return
        record = {
            "seed": seed,
            "episode_id": result["episode_id"],
            "bag": name,
            "outcome": result["outcome"],
            "failure_onset_s": result.get("failure_onset_s"),
            "duration_s": result.get("duration_s"),
            "perturbations": result.get("perturbations", []),
            "perturbation_params": result.get("perturbation_params", {}),
            "scenario": run.unit.scenario,
            "policy": self.config.policy,
            "worker": run.worker,
            "attempt": run.unit.attempt,
            "wall_s": result.get("wall_s"),
            "finished_at": _now(),
            # the nodes' own reports of the episode (VLA timing, first alert, filter steps and latency)
            "policy_timing": result.get("policy_timing", {}),
            "monitor": result.get("monitor", {}),
            "action_filter": result.get("action_filter", {}),
        }
        append_manifest(self.manifest_path, record)
        self.records[seed] = record
        run.finished.add(seed)
        onset = record["failure_onset_s"]
        onset_text = f"  onset {onset:5.2f} s" if onset is not None else ""
        self._say(
            f"seed {seed:<6} {record['outcome']:<9} {record['duration_s'] or 0:6.2f} s sim{onset_text}  "
            f"[{record['scenario']}]  worker {run.worker}"
        )
        if self.bar is not None:
            self.bar.update(1)
            self._update_postfix()

    def _finished(self, run: Running, code: int) -> None:
        remaining = [s for s in run.unit.seeds if s not in self.records]
        if code == 0 and not remaining:
            return
        if self.stop_signal is not None:
            return
        tail = _tail(run.log)
        what = f"failed (exit {code})" if code else f"ended without bags for seeds {remaining}"
        self._say(f"graph for {run.unit.name} {what}; last lines of {run.log}:\n{tail}")
        if not remaining:
            return
        if run.unit.attempt < self.config.retries:
            retries = [
                Unit(u.scenario, u.first_seed, u.count, run.unit.attempt + 1)
                for u in plan_units(remaining, self.config.scenarios, self.config.block_size)
            ]
            self.queue.extendleft(reversed(retries))
            self._say(
                "retrying seeds "
                + ", ".join(f"{u.first_seed}..{u.first_seed + u.count - 1}" for u in retries)
            )
        else:
            for seed in remaining:
                self.failed[seed] = f"graph exit {code} ({run.log})"

    def _stop_all(self) -> None:
        """SIGINT each graph's launcher (it stops its nodes), escalate after 20 s; read what finished."""
        for run in self.running:
            if run.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    run.popen.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 20.0
        for run in self.running:
            try:
                run.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(run.popen.pid, signal.SIGKILL)
                run.popen.wait()
            self._read_results(run)
        self.running.clear()

    def _update_postfix(self) -> None:
        if self.bar is None:
            return
        counts = Counter(self.records[s]["outcome"] for s in self.config.seeds if s in self.records)
        order = ["success", "collision", "drop", "timeout", "other"]
        text = " ".join(f"{k} {counts[k]}" for k in order + sorted(set(counts) - set(order)) if counts[k])
        self.bar.set_postfix_str(text or "-", refresh=False)

    def _say(self, message: str) -> None:
        if self.bar is not None:
            self.bar.write(message, file=sys.stdout)
        else:
            print(message, flush=True)

    # -- report

    def summary(self) -> str:
        seeds = self.config.seeds
        rows: dict[tuple[str, str], int] = Counter()
        for seed in seeds:
            record = self.records.get(seed)
            if record is not None:
                rows[(str(record.get("scenario")), record["outcome"])] += 1
        done = sum(1 for s in seeds if s in self.records)
        lines = [f"collection {self.bag_dir}: {done}/{len(seeds)} requested episodes recorded", ""]
        lines.append(f"{'scenario':<28} {'outcome':<10} {'episodes':>8}")
        lines.append("-" * 48)
        for (scenario, outcome), count in sorted(rows.items()):
            lines.append(f"{scenario:<28} {outcome:<10} {count:>8}")
        size = sum(p.stat().st_size for p in self.bag_dir.glob("seed*/*") if p.is_file())
        bags = len(list(self.bag_dir.glob("seed*")))
        if bags:
            lines.append(f"\n{bags} bags, {size / 2**20:.1f} MiB ({size / bags / 2**20:.2f} MiB per bag)")
        if self.failed:
            lines.append(f"failed seeds: {sorted(self.failed)}")
        return "\n".join(lines)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "  (no log)"
    return "\n".join(f"  | {line}" for line in text[-lines:])


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salus-collect",
        description="Record closed-loop episodes (one rosbag2 MCAP bag each) over many seeds, resumably.",
        epilog="See docs/RECORDING.md. Convert the result with salus-bag2zarr.",
    )
    parser.add_argument("--bag-dir", type=Path, required=True, help="folder of the bags and manifest.jsonl")
    parser.add_argument("--episodes", type=int, required=True, help="number of seeds to record")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument(
        "--policy",
        default="vla",
        help="graph argument policy:=... (default vla: the SmolVLA ensemble with its signals; its checkpoint "
        "comes from --graph-arg checkpoint:=..., default the shipped models/default)",
    )
    parser.add_argument(
        "--inject",
        nargs="+",
        default=["none"],
        metavar="SCENARIO",
        help="scenarios: none, or injection types joined by '+', e.g. push gripper_fault obstacle+push",
    )
    parser.add_argument(
        "--block-size", type=int, default=10, help="seeds per scenario block and per graph run (default 10)"
    )
    parser.add_argument("--workers", type=int, default=1, help="graphs running at once (default 1)")
    parser.add_argument(
        "--image-size", type=int, default=None, help="square camera images, px (default: sim's)"
    )
    parser.add_argument(
        "--real-time-factor", type=float, default=None, help="sim seconds per wall second (default: sim's)"
    )
    parser.add_argument("--params-file", type=Path, help="node-keyed parameter file merged into every run")
    parser.add_argument(
        "--graph-arg", action="append", default=[], metavar="NAME:=VALUE", help="extra launch argument"
    )
    parser.add_argument("--retries", type=int, default=2, help="retries of a failed batch (default 2)")
    parser.add_argument(
        "--domain-id", type=int, default=None, help="ROS_DOMAIN_ID of worker 0 (default: $ROS_DOMAIN_ID or 0)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (one line per episode)")
    return parser


def check_graph_arguments(policy: str, graph_args: Sequence[str]) -> None:
    """Fail before starting anything when the graph would refuse the arguments (e.g. an unknown policy)."""
    from salus_bringup.graph_spec import (
        find_spec,
        load_spec,
        parse_launch_arguments,
        resolve_arguments,
    )

    values = parse_launch_arguments(graph_args)
    reserved = {"record", "bag_dir", "episodes", "seed", "params_file", "policy"} & set(values)
    if reserved:
        raise CollectError(f"--graph-arg cannot set {sorted(reserved)}: salus-collect sets them")
    resolve_arguments(load_spec(find_spec()), {**values, "policy": policy, "record": "bag"})


def main(argv: Sequence[str] | None = None) -> int:
    opts = build_parser().parse_args(argv)
    bag_dir = opts.bag_dir.expanduser().resolve()
    try:
        if opts.episodes < 1 or opts.workers < 1 or opts.block_size < 1 or opts.retries < 0:
            raise CollectError("--episodes, --workers and --block-size must be >= 1, --retries >= 0")
        if opts.image_size is not None and opts.image_size < 16:
            raise CollectError("--image-size must be >= 16 px")
        scenarios = parse_scenarios(opts.inject)
        check_graph_arguments(opts.policy, opts.graph_arg)
        params = _from_params_file(opts.params_file.expanduser()) if opts.params_file else {}
        domain = opts.domain_id if opts.domain_id is not None else int(os.environ.get("ROS_DOMAIN_ID", "0"))
        if domain < 0 or domain + opts.workers - 1 > 101:
            raise CollectError(f"ROS_DOMAIN_IDs {domain}..{domain + opts.workers - 1} must lie in 0..101")
        bag_dir.mkdir(parents=True, exist_ok=True)
    except (CollectError, ValueError, OSError) as err:
        print(f"salus-collect: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    lock = (bag_dir / LOCK_FILE).open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(f"salus-collect: error: another salus-collect is writing to {bag_dir}", file=sys.stderr)
        return EXIT_USAGE
    config = CollectConfig(
        bag_dir=bag_dir,
        seeds=list(range(opts.seed, opts.seed + opts.episodes)),
        scenarios=scenarios,
        block_size=opts.block_size,
        workers=opts.workers,
        policy=opts.policy,
        graph_args=list(opts.graph_arg),
        params=params,
        image_size=opts.image_size,
        real_time_factor=opts.real_time_factor,
        retries=opts.retries,
        domain_id=domain,
        progress=not opts.no_progress,
    )
    collector = Collector(config)
    todo = collector.prepare()
    skipped = len(config.seeds) - len(todo)
    print(
        f"salus-collect: {len(todo)} of {len(config.seeds)} seeds to record into {bag_dir} "
        f"({skipped} already in the manifest), scenarios {scenarios}, {opts.workers} worker(s)",
        flush=True,
    )
    started = time.monotonic()
    code = collector.run() if todo else EXIT_OK
    print("\n" + collector.summary(), flush=True)
    print(f"wall time {time.monotonic() - started:.0f} s", flush=True)
    if code == EXIT_INTERRUPTED:
        print("salus-collect: interrupted; run the same command again to resume", file=sys.stderr)
    lock.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
