"""action_filter_node: the only publisher of ``/joint_command`` — forward, replace, or hold the VLA's command.

Thin ROS adapter over :class:`salus_monitor.core.command_gate.CommandGate`. The VLA publishes what it would
command on ``/salus/vla_command`` (its ``/joint_command`` remapped by the graph); this node answers each one
with a ``/joint_command`` and a ``SafetyIntervention`` (``/salus/intervention``): forwarded (``vla``),
replaced by the safety manifold + MPC when the failure prediction of the same stamp alerts (``manifold``
mode), or the joints held (``hold``) when the inputs went stale (no VLA command, or no prediction, for
``deadline_s``), when DDS reports their publisher gone (liveliness lost: a killed VLA is seen within the
lease, :data:`salus_common.contract.LIVELINESS_LEASE_S`), or, in ``stop`` mode, from the first alert on;
the reason is in the message and on ``/diagnostics``. Every output is limited to the robot profile's joint
range and velocity. Malformed inputs are rejected and counted; so are the inputs' deadline misses.

A ROS 2 lifecycle node: configured (checkpoint loaded, subscriptions made) and activated at start-up when
``autostart`` is true; deactivating it (``ros2 lifecycle set /action_filter deactivate``) stops all command
output, and the robot side's own command deadline takes over.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Literal

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.clock import Clock, ClockType
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import JointState

from salus_common import contract
from salus_common.config import setting
from salus_common.diagnostics import diagnostic_array
from salus_common.joint_vector import JointVectorError, joint_vector
from salus_common.names import FILTER_NODE_NAME
from salus_common.node_runner import run_node
from salus_common.parameters import check_no_unknown_parameters, declare_config, declare_robot_profile
from salus_common.qos import create_publisher, create_subscription
from salus_common.stamps import NS_PER_S, stamp_ns
from salus_monitor.core.command_gate import CommandGate, GateConfig, Output, Prediction
from salus_monitor.core.signal_check import LatencyWindow
from salus_msgs.msg import ActionProposal, EpisodeEvent, FailurePrediction, SafetyIntervention

NODE_NAME = FILTER_NODE_NAME


@dataclass(frozen=True)
class FilterNodeConfig:
    mode: Literal["watchdog", "manifold", "stop"] = setting(
        "watchdog",
        "watchdog: forward the VLA's commands (limits + deadline hold); manifold: also replace a command "
        "whose failure prediction alerts with the safety manifold's best candidate; stop: hold the robot "
        "from the first alert to the end of the episode (the evaluation's baseline)",
    )
    checkpoint: str = setting("", "safety filter folder (salus-train-filter); required in manifold mode")
    deadline_s: float = setting(
        contract.COMMAND_DEADLINE_S,
        "hold the joints when no VLA command (or prediction) arrived for this long [s]",
        low=0.01,
    )
    watchdog: bool = setting(
        True,
        "hold on stale inputs; off in the graph's sync timing, where the sim waits for every command and a "
        "slow chunk is not a fault",
    )
    watchdog_period_s: float = setting(0.02, "how often the deadline is checked [s]", low=0.001)
    num_samples: int = setting(64, "manifold latents sampled per intervention", low=1)
    keep: int = setting(16, "of them, kept nearest the safe centre and scored", low=1)
    seed: int = setting(0, "seed of the candidate sampling", low=0)
    threads: int = setting(1, "torch CPU threads", low=1)
    autostart: bool = setting(True, "configure and activate at start-up (no lifecycle manager needed)")
    diagnostics_period_s: float = setting(1.0, "period of the /diagnostics status [s]", low=0.05)

    def __post_init__(self) -> None:
        if self.mode == "manifold" and not self.checkpoint:
            raise ValueError("mode manifold needs checkpoint (a folder written by salus-train-filter)")
        if self.keep > self.num_samples:
            raise ValueError(f"keep ({self.keep}) must not exceed num_samples ({self.num_samples})")


class ActionFilterNode(LifecycleNode):
    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        self.robot = declare_robot_profile(self)
        self.p = declare_config(self, FilterNodeConfig)
        check_no_unknown_parameters(self)
        self.gate: CommandGate | None = None
        self.active = False
        self.rejected: Counter[str] = Counter()
        self.episode_id = ""
        self.last_state_stamp = 0
        self.deadline_misses: Counter[str] = Counter()
        self.liveliness_losses: Counter[str] = Counter()
        self.decision_latency = LatencyWindow()  # manifold decisions: prediction in -> command out
        self.steady = Clock(clock_type=ClockType.STEADY_TIME)
        if self.p.autostart:
            self.trigger_configure()
            self.trigger_activate()

    # --- lifecycle ---------------------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        p = self.p
        safety_filter, generator = None, None
        if p.mode == "manifold":  # torch only here: the watchdog starts fast and light
            import torch

            from salus_monitor.core.safety_filter import SafetyFilter

            torch.set_num_threads(p.threads)
            safety_filter = SafetyFilter.load(p.checkpoint)
            generator = torch.Generator().manual_seed(p.seed)
        deadline_ns = round(p.deadline_s * NS_PER_S) if p.watchdog else None
        robot = self.robot
        config = GateConfig(
            p.mode, deadline_ns, robot.lower, robot.upper, robot.max_step, p.num_samples, p.keep
        )
        self.gate = CommandGate(config, safety_filter, generator)
        self.names = list(self.robot.joint_names)
        self.pub_command = create_publisher(self, JointState, contract.JOINT_COMMAND_TOPIC)
        self.pub_intervention = create_publisher(self, SafetyIntervention, contract.INTERVENTION_TOPIC)
        self.pub_diag = create_publisher(self, DiagnosticArray, contract.DIAGNOSTICS_TOPIC)
        create_subscription(
            self,
            JointState,
            contract.VLA_COMMAND_TOPIC,
            self.on_vla_command,
            event_callbacks=self.watch_events("command"),
        )
        create_subscription(self, JointState, contract.JOINT_STATES_TOPIC, self.on_joint_states)
        create_subscription(self, EpisodeEvent, contract.EPISODE_TOPIC, self.on_episode)
        if self.gate.uses_predictions:
            create_subscription(
                self,
                FailurePrediction,
                contract.PREDICTION_TOPIC,
                self.on_prediction,
                event_callbacks=self.watch_events("prediction"),
            )
        if p.mode == "manifold":
            create_subscription(self, ActionProposal, contract.PROPOSAL_TOPIC, self.on_proposal)
        if p.watchdog:
            self.create_timer(p.watchdog_period_s, self.on_watchdog, clock=self.steady)
        self.create_timer(p.diagnostics_period_s, self.publish_diagnostics, clock=self.steady)
        self.get_logger().info(
            f"action filter ({p.mode}) on {contract.VLA_COMMAND_TOPIC} -> {contract.JOINT_COMMAND_TOPIC}, "
            f"deadline {p.deadline_s:g} s" + (f", filter {p.checkpoint}" if safety_filter else "")
        )
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.active = True
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.active = False
        self.get_logger().warning("deactivated: no command output until activated again")
        return super().on_deactivate(state)

    def watch_events(self, which: str) -> SubscriptionEventCallbacks:
        """Deadline misses are counted; a lost publisher holds the joints at once (the gate's reason)."""

        def on_deadline(info) -> None:
            if self.gate is not None and self.gate.command_rx_ns is not None:  # inside an episode
                self.deadline_misses[which] += 1

        def on_liveliness(info) -> None:
            gone = info.alive_count == 0
            if gone and info.alive_count_change < 0:
                self.liveliness_losses[which] += 1
                self.get_logger().warning(f"the {which} publisher is gone (liveliness lost)")
            elif not gone and info.alive_count_change > 0:
                self.get_logger().info(f"a {which} publisher is alive")
            if self.gate is not None:
                self.send(self.gate.publisher_gone(which, gone, self.now_ns()))

        return SubscriptionEventCallbacks(deadline=on_deadline, liveliness=on_liveliness)

    # --- inputs ------------------------------------------------------------------------------------------
    def now_ns(self) -> int:
        return self.steady.now().nanoseconds

    def reject(self, reason: str, detail: str) -> None:
        self.rejected[reason] += 1
        self.get_logger().warning(
            f"rejected input ({reason}): {detail} [{self.rejected.total()} so far]", throttle_duration_sec=2.0
        )

    def on_episode(self, msg: EpisodeEvent) -> None:
        if msg.event == EpisodeEvent.EVENT_START and self.gate is not None:
            self.gate.reset()
            self.episode_id = msg.episode_id
        elif msg.event == EpisodeEvent.EVENT_END:
            self.publish_diagnostics(final=True)
            if self.gate is not None:
                self.gate.reset()  # between episodes the VLA is silent by design: nothing to watch

    def joint_row(self, msg: JointState, topic: str) -> np.ndarray | None:
        try:
            return joint_vector(msg.name, msg.position, self.robot.joint_names)
        except JointVectorError as err:
            self.reject(err.reason, f"{topic}: {err.detail}")
            return None

    def on_joint_states(self, msg: JointState) -> None:
        row = self.joint_row(msg, contract.JOINT_STATES_TOPIC)
        if row is None or self.gate is None:
            return
        self.last_state_stamp = stamp_ns(msg.header.stamp)
        self.send(self.gate.on_state(self.last_state_stamp, row, self.now_ns()))

    def on_vla_command(self, msg: JointState) -> None:
        row = self.joint_row(msg, contract.VLA_COMMAND_TOPIC)
        if row is None or self.gate is None:
            return
        self.send(self.timed(self.gate.on_command, stamp_ns(msg.header.stamp), row, self.now_ns()))

    def on_prediction(self, msg: FailurePrediction) -> None:
        risk, threshold = float(msg.max_risk), float(msg.threshold)
        detail = f"{contract.PREDICTION_TOPIC}: max_risk {risk}, threshold {threshold}"
        if not (np.isfinite(risk) and np.isfinite(threshold)):
            self.reject("non_finite", detail)
            return
        if not (0.0 <= risk <= 1.0 and 0.0 <= threshold <= 1.0):
            self.reject("out_of_range", detail)
            return
        prediction = Prediction(bool(msg.alert), risk, threshold)
        self.send(self.timed(self.gate.on_prediction, stamp_ns(msg.header.stamp), prediction, self.now_ns()))

    def timed(self, gate_input, *args) -> Output | None:
        """A gate input, its latency recorded when it made a manifold decision (the command or the
        prediction of a stamp may come last: either one decides)."""
        started = time.perf_counter()
        out = gate_input(*args)
        if out is not None and out.source == "manifold":
            self.decision_latency.add(time.perf_counter() - started)
        return out

    def on_proposal(self, msg: ActionProposal) -> None:
        k, dim = int(msg.num_samples), int(msg.action_dim)
        samples = np.asarray(msg.samples, dtype=np.float64)
        if k < 1 or dim != len(self.names) or samples.size != k * dim or list(msg.joint_names) != self.names:
            self.reject(
                "wrong_length", f"{contract.PROPOSAL_TOPIC}: {samples.size} samples for K={k} x {dim}"
            )
            return
        if not np.all(np.isfinite(samples)):
            self.reject("non_finite", f"{contract.PROPOSAL_TOPIC}: non-finite samples")
            return
        self.gate.on_samples(stamp_ns(msg.header.stamp), samples.reshape(k, dim))

    def on_watchdog(self) -> None:
        if self.gate is not None:
            self.send(self.gate.check(self.now_ns()))

    # --- outputs -----------------------------------------------------------------------------------------
    def send(self, out: Output | None) -> None:
        if out is None or not self.active:
            return
        stamp_value = out.stamp_ns or self.last_state_stamp
        sec, nanosec = divmod(stamp_value, NS_PER_S)
        command = JointState(name=self.names, position=[float(v) for v in out.target])
        command.header.stamp.sec, command.header.stamp.nanosec = int(sec), int(nanosec)
        self.pub_command.publish(command)
        self.pub_intervention.publish(
            SafetyIntervention(
                header=command.header,
                joint_names=self.names,
                executed_action=[float(v) for v in out.target],
                source=out.source,
                candidates_evaluated=out.candidates,
                risk_before=out.risk_before,
                risk_after=float("nan"),  # candidates are scored by the manifold, not by the predictor
                reason=out.reason,
            )
        )
        if out.source == "hold" and out.stamp_ns == 0:  # the start of a hold
            self.get_logger().warning(f"holding the joints: {out.reason}")

    def publish_diagnostics(self, final: bool = False) -> None:
        counts = self.gate.counts if self.gate is not None else {}
        holding = self.gate is not None and self.gate.holding is not None
        values = {
            "episode_id": self.episode_id,
            "mode": self.p.mode,
            "active": str(self.active).lower(),
            "holding": str(holding).lower(),
            "hold_reason": self.gate.hold_reason if holding else "",
            **{f"steps_{k}": str(v) for k, v in counts.items()},
            "rejected_inputs": str(self.rejected.total()),
            "deadline_missed_command": str(self.deadline_misses["command"]),
            "deadline_missed_prediction": str(self.deadline_misses["prediction"]),
            "liveliness_lost_command": str(self.liveliness_losses["command"]),
            "liveliness_lost_prediction": str(self.liveliness_losses["prediction"]),
            "final": str(final).lower(),
        }
        if len(self.decision_latency):
            values["decision_latency_p50_ms"] = f"{self.decision_latency.percentile_ms(50):.3f}"
            values["decision_latency_p99_ms"] = f"{self.decision_latency.percentile_ms(99):.3f}"
        values.update({f"rejected_{reason}": str(n) for reason, n in sorted(self.rejected.items())})
        problem = (
            f"holding: {self.gate.hold_reason}" if holding else ("rejected inputs" if self.rejected else None)
        )
        stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(diagnostic_array(NODE_NAME, values, problem, stamp, "salus_filter"))


def main(args: list[str] | None = None) -> None:
    run_node(ActionFilterNode, args)


if __name__ == "__main__":
    main()
