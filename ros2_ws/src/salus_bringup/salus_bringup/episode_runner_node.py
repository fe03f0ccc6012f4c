"""Runs N episodes through the simulator's reset service and reports each outcome, then a summary.

It is the main job's driver: its clean exit ends the graph (``ends_graph`` in config/graph.yaml).

With ``wait_for_recorder`` (set by ``record:=bag``) it waits for the episode recorder: before
the first reset until the recorder's acknowledgment publisher exists, and after each end event until the
recorder acknowledges that episode on ``/salus/recorder/episode_saved`` (``std_msgs/String``, the episode
id; sent for discarded episodes too), so no episode starts while the previous one is being written and
the graph does not end before the last one is on disk. No acknowledgment within ``recorder_wait_s`` is
an error exit.

    ros2 run salus_bringup episode_runner --ros-args -p num_episodes:=20 -p base_seed:=0
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from std_msgs.msg import String

from salus_common import contract
from salus_common.config import setting
from salus_common.episode_summary import EpisodeRecord, format_episode_line, format_summary
from salus_common.names import FILTER_NODE_NAME as FILTER_NODE
from salus_common.names import PREDICTOR_NODE_NAME as PREDICTOR_NODE
from salus_common.names import VLA_NODE_NAME as POLICY_NODE
from salus_common.node_runner import run_node
from salus_common.parameters import check_no_unknown_parameters, declare_config, declare_robot_profile
from salus_common.qos import create_subscription
from salus_msgs.msg import EpisodeEvent
from salus_msgs.srv import ResetEpisode

RECORDER_ACK_TOPIC = contract.RECORDER_ACK_TOPIC
# Once the recorder's publisher is seen, give DDS this long to match its subscriptions too [wall s].
_RECORDER_SETTLE_S = 1.0
_REPORT_WAIT_S = 2.0  # wall seconds to wait for a node's final diagnostics of an episode
_REPORTING_NODES = (POLICY_NODE, PREDICTOR_NODE, FILTER_NODE)  # final per-episode diagnostics, summarized


@dataclass(frozen=True)
class RunnerConfig:
    """Parameters of ``episode_runner`` (read once at start-up)."""

    num_episodes: int = setting(5, "episodes to run before exiting", low=1)
    base_seed: int = setting(0, "seed of the first episode; episode i uses base_seed+i", low=0)
    episode_watchdog_s: float = setting(
        300.0, "wall seconds an episode may take before the run is declared stuck", low=1.0
    )
    service_wait_s: float = setting(60.0, "wall seconds to wait for the simulator's reset service", low=0.0)
    policy_topic: str = setting(
        contract.JOINT_COMMAND_TOPIC,
        "the policy's command topic, waited for (besides /joint_command) before the first reset: with the "
        "action filter in the path, the VLA's own /salus/vla_command",
    )
    results_path: str = setting("", "JSON-lines file receiving one record per episode ('' = none)")
    wait_for_recorder: bool = setting(
        False, f"wait for the recorder's acknowledgment on {RECORDER_ACK_TOPIC} after each episode"
    )
    recorder_wait_s: float = setting(
        60.0, "wall seconds to wait for the recorder (start-up, each acknowledgment)", low=0.0
    )


class EpisodeRunner(Node):
    """Resets episode after episode and waits for each end event, with a wall-clock watchdog."""

    def __init__(self) -> None:
        super().__init__("episode_runner")
        self.robot = declare_robot_profile(self)
        config = declare_config(self, RunnerConfig)
        self.num_episodes = config.num_episodes
        self.base_seed = config.base_seed
        self.watchdog_s = config.episode_watchdog_s
        self.service_wait_s = config.service_wait_s
        self.policy_topics = tuple(dict.fromkeys((contract.JOINT_COMMAND_TOPIC, config.policy_topic)))
        self.results_path = config.results_path
        self.wait_for_recorder = config.wait_for_recorder
        self.recorder_wait_s = config.recorder_wait_s
        check_no_unknown_parameters(self)
        self.reset_client = self.create_client(ResetEpisode, contract.RESET_SERVICE)
        self.ended: dict[str, EpisodeEvent] = {}
        create_subscription(self, EpisodeEvent, contract.EPISODE_TOPIC, self.on_episode_event)
        self.recorder_acks: set[str] = set()
        # Final /diagnostics of each episode from the VLA (missed ticks, chunk latency), the failure
        # predictor (first alert) and the action filter (steps by source): in the summary. Only nodes seen
        # reporting are waited for.
        self.final_reports: dict[str, dict[str, dict[str, str]]] = {n: {} for n in _REPORTING_NODES}
        self.reporting: set[str] = set()
        create_subscription(self, DiagnosticArray, contract.DIAGNOSTICS_TOPIC, self.on_diagnostics)
        if self.wait_for_recorder:
            create_subscription(self, String, RECORDER_ACK_TOPIC, self.on_recorder_ack)

    def on_episode_event(self, msg: EpisodeEvent) -> None:
        if msg.event == EpisodeEvent.EVENT_END:
            self.ended[msg.episode_id] = msg

    def on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name not in self.final_reports:
                continue
            self.reporting.add(status.name)
            values = {kv.key: kv.value for kv in status.values}
            if values.get("final") == "true":
                self.final_reports[status.name][values.get("episode_id", "")] = values

    def wait_for_reports(self, episode_id: str) -> dict[str, dict[str, str]]:
        """Final diagnostics of an episode from every reporting node (they send them right at the end)."""
        deadline = time.monotonic() + _REPORT_WAIT_S

        def missing() -> bool:
            return any(episode_id not in self.final_reports[n] for n in self.reporting)

        while missing() and time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=0.05)
        return {n: self.final_reports[n].pop(episode_id, {}) for n in _REPORTING_NODES}

    @staticmethod
    def policy_timing(report: dict[str, str]) -> dict[str, str]:
        keep = ("mode", "missed_ticks", "startup_ticks", "chunks", "dropped_chunks", "chunk_latency_p50_ms")
        keep += ("chunk_latency_p99_ms", "queue_depth_min", "non_finite_actions", "limited_targets")
        return {k: report[k] for k in keep if k in report}

    @staticmethod
    def monitor_report(report: dict[str, str]) -> dict[str, str]:
        keep = ("first_alert_s", "episode_max_risk", "threshold", "episode_predictions", "withheld")
        keep += ("latency_p50_ms", "latency_p99_ms")
        return {k: report[k] for k in keep if k in report}

    @staticmethod
    def filter_report(report: dict[str, str]) -> dict[str, str]:
        keep = ("mode", "steps_vla", "steps_manifold", "steps_hold", "steps_holds_started", "steps_limited")
        keep += ("rejected_inputs", "deadline_missed_command", "deadline_missed_prediction")
        keep += ("liveliness_lost_command", "liveliness_lost_prediction", "hold_reason")
        keep += ("decision_latency_p50_ms", "decision_latency_p99_ms")
        return {k: report[k] for k in keep if k in report}

    def on_recorder_ack(self, msg: String) -> None:
        self.recorder_acks.add(msg.data)

    def wait_for_recorder_ready(self) -> bool:
        """Before the first reset: the recorder is up once its acknowledgment publisher is discovered."""
        started = time.monotonic()
        while self.count_publishers(RECORDER_ACK_TOPIC) == 0:
            if time.monotonic() - started > self.recorder_wait_s:
                self.get_logger().error(
                    f"wait_for_recorder is set but no recorder publishes {RECORDER_ACK_TOPIC} "
                    f"within {self.recorder_wait_s:.0f} s (is record:=lerobot's recorder running?)"
                )
                return False
            rclpy.spin_once(self, timeout_sec=0.1)
        self.get_logger().info(f"recorder found after {time.monotonic() - started:.1f} s")
        settle_until = time.monotonic() + _RECORDER_SETTLE_S
        while time.monotonic() < settle_until:
            rclpy.spin_once(self, timeout_sec=0.1)
        return True

    def wait_for_recorder_ack(self, episode_id: str) -> bool:
        """After an end event: the recorder has written (or discarded) the episode."""
        started = time.monotonic()
        while episode_id not in self.recorder_acks:
            if time.monotonic() - started > self.recorder_wait_s:
                self.get_logger().error(
                    f"the recorder did not acknowledge {episode_id} on {RECORDER_ACK_TOPIC} "
                    f"within {self.recorder_wait_s:.0f} s"
                )
                return False
            rclpy.spin_once(self, timeout_sec=0.05)
        self.recorder_acks.discard(episode_id)
        return True

    def run(self) -> int:
        log = self.get_logger()
        if not self.reset_client.wait_for_service(timeout_sec=self.service_wait_s):
            log.error(
                f"no simulator: {contract.RESET_SERVICE} did not appear within {self.service_wait_s:.0f} s"
            )
            return 1
        if not self.wait_for_policy():
            return 1
        if self.wait_for_recorder and not self.wait_for_recorder_ready():
            return 1
        records: list[EpisodeRecord] = []
        results = Path(self.results_path) if self.results_path else None
        if results:
            results.parent.mkdir(parents=True, exist_ok=True)
        for index in range(self.num_episodes):
            record = self.run_episode(self.base_seed + index)
            if record is None:
                return 1
            records.append(record)
            print(format_episode_line(index + 1, self.num_episodes, record), flush=True)
            if results:
                with results.open("a") as stream:
                    stream.write(json.dumps(record.to_json_dict()) + "\n")
        print("\n" + format_summary(records), flush=True)
        if results:
            log.info(f"episode records appended to {results}")
        return 0

    def wait_for_policy(self) -> bool:
        """Wait until the policy publishes commands (and the filter in front of the robot, if any): a VLA
        node loads its model for seconds, and an episode started before it is up would run its first steps
        without a policy (in sync timing: forever, the sim waiting for a command to an observation the
        VLA never saw)."""
        deadline = time.monotonic() + self.service_wait_s
        while missing := [t for t in self.policy_topics if self.count_publishers(t) == 0]:
            if time.monotonic() > deadline:
                self.get_logger().error(
                    f"no policy: nothing publishes {missing} after {self.service_wait_s:.0f} s"
                )
                return False
            rclpy.spin_once(self, timeout_sec=0.1)
        return True

    def run_episode(self, seed: int) -> EpisodeRecord | None:
        log = self.get_logger()
        future = self.reset_client.call_async(ResetEpisode.Request(seed=seed))
        rclpy.spin_until_future_complete(self, future, timeout_sec=self.service_wait_s)
        response = future.result()
        if response is None or not response.success:
            log.error(f"reset with seed {seed} failed: {response.message if response else 'no answer'}")
            return None
        started = time.monotonic()
        while response.episode_id not in self.ended:
            if time.monotonic() - started > self.watchdog_s:
                log.error(f"{response.episode_id} produced no end event within {self.watchdog_s:.0f} wall s")
                return None
            rclpy.spin_once(self, timeout_sec=0.1)
        event = self.ended.pop(response.episode_id)
        if self.wait_for_recorder and not self.wait_for_recorder_ack(event.episode_id):
            return None
        reports = self.wait_for_reports(event.episode_id)
        return EpisodeRecord(
            episode_id=event.episode_id,
            seed=int(event.seed),
            outcome=event.outcome,
            duration_s=float(event.duration),
            failure_onset_s=float(event.failure_onset_time)
            if not math.isnan(event.failure_onset_time)
            else math.nan,
            perturbations=tuple(event.perturbations),
            wall_s=time.monotonic() - started,
            perturbation_params=json.loads(event.perturbation_params_json or "{}"),
            policy_timing=self.policy_timing(reports[POLICY_NODE]),
            monitor=self.monitor_report(reports[PREDICTOR_NODE]),
            action_filter=self.filter_report(reports[FILTER_NODE]),
        )


def main(args: list[str] | None = None) -> None:
    run_node(EpisodeRunner, args, work=EpisodeRunner.run)


if __name__ == "__main__":
    main()
