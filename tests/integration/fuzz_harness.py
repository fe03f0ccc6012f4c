"""Fuzz the graph's subscribers over DDS: the sim, the action filter (manifold mode, so that every one of its
inputs is subscribed), the failure predictor and the risk markers run as real processes; randomized
malformed messages (salus_common.fuzz_messages) go to every topic they subscribe. Shared by the CI-sized
test and bench/fuzz_graph.py (10 000 messages per subscriber)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.integration.graph_harness import REPO, Observer, start_node, stop

NODES = (  # (package, executable, node's /diagnostics name, extra overrides)
    ("salus_sim", "sim_node", "salus_sim", {}),
    (
        "salus_monitor",
        "action_filter_node",
        "action_filter",
        {"mode": "manifold", "checkpoint": "models/filter"},
    ),
    ("salus_monitor", "failure_predictor_node", "failure_predictor", {"checkpoint": "models/predictor"}),
    ("salus_monitor", "risk_markers_node", "risk_markers", {}),
)
PARAMS = {
    "sim_node": ["sim.yaml"],
    "action_filter_node": ["action_filter.yaml"],
    "failure_predictor_node": ["predictor.yaml"],
    "risk_markers_node": ["risk_markers.yaml"],
}


@dataclass
class FuzzResult:
    sent: Counter = field(default_factory=Counter)  # topic -> messages
    alive: dict[str, bool] = field(default_factory=dict)  # node -> still running at the end
    exit_codes: dict[str, int] = field(default_factory=dict)
    diagnostics: dict[str, dict[str, str]] = field(default_factory=dict)  # node -> its last status
    interventions: int = 0
    outside_limits: int = 0  # filter outputs outside the robot profile's joint range
    seconds: float = 0.0
    logs: dict[str, str] = field(default_factory=dict)


def run_fuzz(tmp_path: Path, per_topic: int, seed: int = 0, rate_hz: float = 2000.0) -> FuzzResult:
    from diagnostic_msgs.msg import DiagnosticArray

    from salus_common import contract
    from salus_common.fuzz_messages import generators
    from salus_common.names import EXTENDED_SIGNAL_NAMES, FAILURE_TYPES, HORIZONS_S, SIGNAL_NAMES
    from salus_common.qos import publisher_qos, subscriber_qos
    from salus_common.robot_profile import RobotProfile
    from salus_msgs.msg import SafetyIntervention

    profile = RobotProfile()
    lower, upper = np.asarray(profile.position_lower), np.asarray(profile.position_upper)
    config = REPO / "config"
    processes = {}
    for package, executable, name, overrides in NODES:
        files = [config / "robots" / "mujoco.yaml", *(config / f for f in PARAMS[executable])]
        processes[name] = start_node(package, executable, tmp_path / f"{name}.log", files, overrides)
    result = FuzzResult()
    obs = Observer("fuzz_observer")
    try:

        def on_intervention(msg: SafetyIntervention) -> None:
            result.interventions += 1
            action = np.asarray(msg.executed_action, dtype=np.float64)
            if action.shape != lower.shape or np.any(action < lower - 1e-6) or np.any(action > upper + 1e-6):
                result.outside_limits += 1

        obs.node.create_subscription(
            SafetyIntervention, contract.INTERVENTION_TOPIC, on_intervention,
            subscriber_qos(contract.INTERVENTION_TOPIC),
        )  # fmt: skip

        def on_diagnostics(msg: DiagnosticArray) -> None:
            for status in msg.status:
                result.diagnostics[status.name] = {kv.key: kv.value for kv in status.values}

        obs.node.create_subscription(
            DiagnosticArray,
            contract.DIAGNOSTICS_TOPIC,
            on_diagnostics,
            subscriber_qos(contract.DIAGNOSTICS_TOPIC),
        )
        # No cameras: their only subscriber, the VLA, is not among the fuzzed nodes (its image and joint
        # checks are the shared salus_common codecs, tested on their own).
        gens = generators(
            profile.joint_names, (), SIGNAL_NAMES, EXTENDED_SIGNAL_NAMES, HORIZONS_S, FAILURE_TYPES
        )
        pubs = {
            topic: obs.node.create_publisher(msg_type, topic, publisher_qos(topic))
            for topic, (msg_type, _) in gens.items()
        }
        ready = obs.spin_until(
            lambda: all(pub.get_subscription_count() > 0 for pub in pubs.values()),
            90,
            alive=lambda: all(p.poll() is None for p in processes.values()),
        )
        if not ready:
            unheard = [topic for topic, pub in pubs.items() if pub.get_subscription_count() == 0]
            exited = {name: p.poll() for name, p in processes.items() if p.poll() is not None}
            tails = "".join(
                f"\n--- {name} (exit {code}) ---\n{(tmp_path / f'{name}.log').read_text()[-1500:]}"
                for name, code in exited.items()
            )
            raise RuntimeError(
                f"the fuzzed nodes did not come up: no subscriber on {unheard}; exited: {exited or 'none'}"
                + tails
            )
        obs.spin_until(lambda: False, 1.0)
        rng = np.random.default_rng(seed)
        topics = list(gens)
        started = time.monotonic()
        period = 1.0 / rate_hz
        for _ in range(per_topic):
            for topic in topics:
                pubs[topic].publish(gens[topic][1](rng))
                result.sent[topic] += 1
            obs.executor.spin_once(timeout_sec=period * len(topics))
        result.seconds = time.monotonic() - started
        # Then well-formed but extreme commands, each with a prediction of its stamp (alerting or not): what
        # reaches the robot, forwarded or replaced, must stay inside the joint range; then silence (holds).
        from builtin_interfaces.msg import Time
        from sensor_msgs.msg import JointState

        from salus_msgs.msg import EpisodeEvent, FailurePrediction

        pubs[contract.EPISODE_TOPIC].publish(EpisodeEvent(episode_id="fuzz", event=EpisodeEvent.EVENT_START))
        names = list(profile.joint_names)
        for k in range(1, 41):
            stamp = Time(sec=10_000 + k)
            state = JointState(name=names, position=rng.uniform(lower, upper).tolist())
            state.header.stamp = stamp
            command = JointState(name=names, position=rng.normal(0.0, 50.0, len(names)).tolist())
            command.header.stamp = stamp
            alert = bool(k % 2)
            prediction = FailurePrediction(max_risk=0.9 if alert else 0.1, threshold=0.5, alert=alert)
            prediction.header.stamp = stamp
            for topic, msg in (
                (contract.JOINT_STATES_TOPIC, state),
                (contract.VLA_COMMAND_TOPIC, command),
                (contract.PREDICTION_TOPIC, prediction),
            ):
                pubs[topic].publish(msg)
            obs.spin_until(lambda: False, 0.05)
        obs.spin_until(lambda: False, 2.5)  # silence: the watchdog holds; the last diagnostics periods
    finally:
        obs.close()
        for name, process in processes.items():
            result.alive[name] = process.poll() is None
            result.exit_codes[name] = stop(process)
            result.logs[name] = (tmp_path / f"{name}.log").read_text()[-3000:]
    return result
