"""VLA ensemble node: SmolVLA proposes each control step's action as a K-sample ensemble, with signals.

Subscribes the robot's cameras, ``/joint_states`` and ``/salus/episode``; per control step publishes
``/salus/proposal`` (ActionProposal: mean, std, the K samples, the stamp of the observation the chunk came
from), ``/salus/signals`` (the 12 SALUS signals; with ``extended_signals``, also the extended set and
the prefix embedding) and the mean action as a ``/joint_command``, limited to the robot profile's joint
range and velocity limits. The safety filter, when present, sits in the command path
by remapping this node's ``/joint_command`` (the VLA proposes; the filter alone commands).

**Asynchronous chunking** (default): inference runs in a worker thread, never on the executor; the next
chunk is requested ``lookahead`` actions before the current chunk's planned actions run out, so the robot
gets a target every tick while the model thinks (core/chunk_schedule.py). ``blocking: true`` waits for each
chunk on the control thread instead: the graph's synchronous mode, where the sim waits for every command.
Timing (missed ticks, chunk latency p50/p99, queue depth, dropped chunks) goes to ``/diagnostics`` every
``diagnostics_period_s`` and once more, marked final, at each episode end (the runner's summary uses it).

**Output safety**: a non-finite action publishes nothing and is counted; joint states with duplicate,
unknown or missing names are rejected with the reason; every published target is limited (counted).

    ros2 run salus_vla vla_ensemble_node --ros-args -p checkpoint:=models/default/pretrained_model
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState

from salus_common import contract
from salus_common.config import setting
from salus_common.diagnostics import diagnostic_array
from salus_common.image_codec import ImageCodecError, image_to_rgb8
from salus_common.joint_vector import JointVectorError, joint_vector, limit_target
from salus_common.names import EXTENDED_SIGNAL_NAMES, SIGNAL_NAMES, TASK_INSTRUCTION, VLA_NODE_NAME
from salus_common.node_runner import run_node
from salus_common.parameters import check_no_unknown_parameters, declare_config, declare_robot_profile
from salus_common.qos import create_publisher, create_subscription
from salus_common.stamps import NS_PER_S, stamp_ns, time_msg_ns
from salus_msgs.msg import ActionProposal, EpisodeEvent, SalusSignals
from salus_vla.core.chunk_schedule import TimedChunk
from salus_vla.core.controller import ControlStep, NonFiniteActionError, VlaController
from salus_vla.core.extended_signals import ExtendedSignalExtractor, HiddenStats, hidden_stats_path
from salus_vla.core.policy_loader import check_features, load_policy
from salus_vla.observation_sync import Observation, StampedFrames

NODE_NAME = VLA_NODE_NAME


@dataclass(frozen=True)
class VlaNodeConfig:
    """Parameters of ``vla_ensemble`` (all read once at start-up)."""

    checkpoint: str = setting(
        "", "SmolVLA checkpoint: a local pretrained_model folder or a hub id (required)"
    )
    backbone_dir: str = setting(
        "", "local SmolVLM backbone replacing the checkpoint's (checkpoints moved between machines)"
    )
    task: str = setting(TASK_INSTRUCTION, "language instruction given to the VLA")
    num_samples: int = setting(5, "K: action samples per chunk, sharing one VLM prefix pass", low=1, high=256)
    n_action_steps: int = setting(
        0, "planned actions per chunk before the next chunk takes over (0 = checkpoint's)", low=0
    )
    lookahead: int = setting(
        4, "request the next chunk when this many planned actions of the current one are left", low=0
    )
    blend_steps: int = setting(
        3, "cross-fade from the old chunk to the new one over this many steps at a switch (0 = jump)", low=0
    )
    max_chunk_age_s: float = setting(
        1.5, "drop a chunk whose observation is older than this when it arrives [s] (0 = never)", low=0.0
    )
    warm_up: bool = setting(True, "sample one chunk from a blank observation at start-up (first chunk fast)")
    blocking: bool = setting(
        False,
        "wait for each chunk on the control thread (the graph's synchronous mode, where the sim waits for "
        "every command; exact replays); false: asynchronous chunking for real time",
    )
    num_flow_steps: int = setting(
        0, "flow-matching (Euler) steps per chunk (0 = checkpoint's, usually 10)", low=0
    )
    device: str = setting("cpu", "torch device: cpu, cuda, cuda:N")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = setting(
        "auto", "VLM dtype: auto (as loaded), float32, bfloat16, float16"
    )
    seed: int = setting(
        0, "seed of the ensemble's noise (restarted per episode from it and the episode seed)", low=0
    )
    signal_window: int = setting(10, "steps in the trajectory-divergence window", low=1)
    extended_signals: bool = setting(
        True, "also publish the extended signals and the prefix embedding (SalusSignals.extended_*)"
    )
    hidden_stats: str = setting(
        "", "prefix-embedding statistics for hidden_mahalanobis ('' = the checkpoint folder's)"
    )
    reversal_window: int = setting(10, "steps in the command-reversal-rate window", low=2)
    sync: Literal["exact", "latest"] = setting(
        "exact",
        "exact: act when joint states and every camera share a stamp; latest: act on joint states with the "
        "newest images no older than max_image_age_s",
    )
    max_image_age_s: float = setting(0.25, "with sync=latest, the oldest image still used [s]", low=0.0)
    diagnostics_period_s: float = setting(1.0, "period of the /diagnostics status [s]", low=0.05)

    def __post_init__(self) -> None:
        if not self.checkpoint:
            raise ValueError("checkpoint is required (a pretrained_model folder or a hub id)")


@dataclass
class EpisodeCounts:
    """What one episode's diagnostics report besides the schedule's own counts."""

    episode_id: str = ""
    steps: int = 0
    startup_ticks: int = 0  # ticks before the first chunk arrived (the arm holds still)
    non_finite: int = 0
    limited: int = 0


class VlaEnsembleNode(Node):
    """Thin adapter: messages → :class:`VlaController` (in a worker thread) → proposal and command."""

    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        self.robot = declare_robot_profile(self)
        p = declare_config(self, VlaNodeConfig)
        check_no_unknown_parameters(self)
        loaded = load_policy(
            p.checkpoint,
            device=p.device,
            dtype=None if p.dtype == "auto" else p.dtype,
            backbone_dir=p.backbone_dir or None,
        )
        check_features(
            loaded,
            self.robot.cameras,
            state_dim=len(self.robot.joint_names),
            action_dim=len(self.robot.joint_names),
        )
        self.dt_ns = round(self.robot.control_dt * NS_PER_S)
        extended = None
        if p.extended_signals:
            stats = HiddenStats.load(p.hidden_stats or hidden_stats_path(p.checkpoint))
            extended = ExtendedSignalExtractor(stats, self.robot.control_dt, p.reversal_window)
        self.controller = VlaController(
            loaded,
            p.task,
            num_samples=p.num_samples,
            seed=p.seed,
            n_action_steps=p.n_action_steps or None,
            num_flow_steps=p.num_flow_steps or None,
            signal_window=p.signal_window,
            lookahead=p.lookahead,
            blend_steps=p.blend_steps,
            max_age_steps=round(p.max_chunk_age_s / self.robot.control_dt),
            extended=extended,
        )
        self.blocking = p.blocking
        self.model_id = str(p.checkpoint)
        self.frames = StampedFrames(
            self.robot.cameras, exact=p.sync == "exact", max_image_age_s=p.max_image_age_s
        )
        self.inference = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vla-inference")
        self.in_flight: Future[TimedChunk] | None = None
        self.generation = 0  # bumped per episode: a chunk from an earlier episode is thrown away
        self.in_flight_generation = 0
        self.active = False
        self.first_stamp: int | None = None
        self.last_target: np.ndarray | None = None
        self.counts = EpisodeCounts()
        self.rejected: Counter[str] = Counter()

        self.pub_proposal = create_publisher(self, ActionProposal, contract.PROPOSAL_TOPIC)
        self.pub_signals = create_publisher(self, SalusSignals, contract.SIGNALS_TOPIC)
        self.pub_command = create_publisher(self, JointState, contract.JOINT_COMMAND_TOPIC)
        self.pub_diag = create_publisher(self, DiagnosticArray, contract.DIAGNOSTICS_TOPIC)
        create_subscription(self, EpisodeEvent, contract.EPISODE_TOPIC, self.on_episode)
        create_subscription(self, JointState, contract.JOINT_STATES_TOPIC, self.on_joint_states)
        for camera in self.robot.cameras:
            topic = contract.camera_image_topic(camera)
            create_subscription(self, Image, topic, lambda msg, cam=camera: self.on_image(cam, msg))
        if p.warm_up:
            warm = self.inference.submit(self.controller.warm_up)
            warm.add_done_callback(self.log_warm_up)
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(p.diagnostics_period_s, self.publish_diagnostics, clock=steady)
        self.get_logger().info(
            f"SmolVLA from {self.model_id} on {loaded.device} ({loaded.vlm_dtype}); "
            f"K={self.controller.num_samples}, {self.controller.n_action_steps} planned actions per chunk of "
            f"{loaded.chunk_size}, "
            + ("blocking" if self.blocking else f"asynchronous, lookahead {p.lookahead}")
            + f", blend {p.blend_steps}; cameras {list(self.robot.cameras)}; extended signals "
            + ("on" if extended is not None else "off")
        )

    def log_warm_up(self, warm: Future[float]) -> None:
        if warm.cancelled():
            return
        if warm.exception() is not None:  # the same model fails on real input too: say so now, loudly
            self.get_logger().error(f"warm-up chunk failed: {warm.exception()!r}")
        else:
            self.get_logger().info(f"warm-up chunk: {warm.result():.0f} ms")

    # --- inputs ----------------------------------------------------------------------------------------
    def on_episode(self, msg: EpisodeEvent) -> None:
        if msg.event == EpisodeEvent.EVENT_START:
            self.generation += 1
            self.controller.reset()
            # The noise restarts in the worker thread, after any chunk still being sampled there.
            self.inference.submit(self.controller.sampler.reseed, self.controller.noise_seed(msg.seed))
            self.frames.clear()
            self.first_stamp = None
            self.last_target = None
            self.counts = EpisodeCounts(episode_id=msg.episode_id)
            self.active = True
        elif self.active:
            self.active = False
            self.publish_diagnostics(final=True)

    def on_image(self, camera: str, msg: Image) -> None:
        try:
            self.frames.add_image(camera, stamp_ns(msg.header.stamp), image_to_rgb8(msg))
        except ImageCodecError as err:
            self.reject(err.reason, f"{camera}: {err}")
            return
        self.act_if_ready()

    def on_joint_states(self, msg: JointState) -> None:
        try:
            state = joint_vector(msg.name, msg.position, self.robot.joint_names)
        except JointVectorError as err:
            self.reject(err.reason, f"/joint_states: {err.detail}")
            return
        self.frames.add_state(stamp_ns(msg.header.stamp), state, msg.header)
        self.act_if_ready()

    def reject(self, reason: str, detail: str) -> None:
        self.rejected[reason] += 1
        self.get_logger().warning(
            f"rejected input ({reason}): {detail} [{self.rejected.total()} so far]", throttle_duration_sec=2.0
        )

    # --- acting ----------------------------------------------------------------------------------------
    def act_if_ready(self) -> None:
        if not self.active:
            return
        frame = self.frames.pop_ready()
        if frame is None:
            return
        if self.first_stamp is None:
            self.first_stamp = frame.stamp
        step = round((frame.stamp - self.first_stamp) / self.dt_ns)
        self.counts.steps += 1
        self.collect_finished_chunk(step)
        if self.controller.wants_chunk(step) and self.in_flight is None:
            job = self.controller.request(frame.images, frame.state, step, frame.stamp)
            self.in_flight, self.in_flight_generation = self.inference.submit(job), self.generation
            if self.blocking:
                self.collect_finished_chunk(step, wait=True)
        if self.controller.schedule.current is None:
            self.counts.startup_ticks += 1  # no chunk yet this episode: the arm holds still
            return
        try:
            control = self.controller.act(step, frame.state)
        except NonFiniteActionError as err:
            self.counts.non_finite += 1
            self.get_logger().error(f"not published: {err}", throttle_duration_sec=2.0)
            return
        if control is not None:
            self.publish(control, frame)

    def collect_finished_chunk(self, step: int, wait: bool = False) -> None:
        """Hand a finished chunk (if any) to the schedule; with ``wait``, wait for the one in flight."""
        future = self.in_flight
        if future is None or not (wait or future.done()):
            return
        self.in_flight = None
        timed = future.result()  # an exception in the model is a bug: let it stop the node, loudly
        if self.in_flight_generation == self.generation:
            self.controller.accept(timed, step)
            config = self.controller.schedule.config
            slack_steps = config.chunk_size - config.n_action_steps + config.lookahead
            if timed.latency_ms > 1e3 * self.robot.control_dt * slack_steps:
                self.get_logger().warning(
                    f"chunk took {timed.latency_ms:.0f} ms: longer than the chunk's {slack_steps} spare "
                    "actions, ticks will be missed",
                    throttle_duration_sec=5.0,
                )

    def publish(self, step: ControlStep, frame: Observation) -> None:
        names = list(self.robot.joint_names)
        reference = frame.state if self.last_target is None else self.last_target
        target, changed = limit_target(
            step.action, reference, self.robot.lower, self.robot.upper, self.robot.max_step
        )
        self.counts.limited += int(changed)
        self.last_target = target
        k, dim = step.samples.shape
        header = frame.header
        self.pub_proposal.publish(
            ActionProposal(
                header=header,
                observation_stamp=time_msg_ns(step.source_stamp_ns),
                joint_names=names,
                mean=step.samples.mean(axis=0).astype(np.float32).tolist(),  # the ensemble's own mean
                std=step.std.astype(np.float32).tolist(),
                samples=step.samples.astype(np.float32).ravel().tolist(),
                num_samples=k,
                action_dim=dim,
                chunk_index=step.chunk_index,
                step_in_chunk=step.step_in_chunk,
                model_id=self.model_id,
            )
        )
        signals = SalusSignals(
            header=header,
            names=list(SIGNAL_NAMES),
            values=step.signals.astype(np.float32).tolist(),
            chunk_index=step.chunk_index,
        )
        if step.extended is not None and step.prefix_embedding is not None:
            signals.extended_names = list(EXTENDED_SIGNAL_NAMES)
            signals.extended_values = step.extended.astype(np.float32).tolist()
            signals.prefix_embedding = step.prefix_embedding.astype(np.float32).tolist()
        self.pub_signals.publish(signals)
        self.pub_command.publish(JointState(header=header, name=names, position=[float(v) for v in target]))

    # --- diagnostics -----------------------------------------------------------------------------------
    def diagnostic_values(self) -> dict[str, str]:
        stats = self.controller.schedule.stats
        values = {
            "episode_id": self.counts.episode_id,
            "mode": "blocking" if self.blocking else "asynchronous",
            "control_steps": str(self.counts.steps),
            "startup_ticks": str(self.counts.startup_ticks),
            "missed_ticks": str(stats.missed_ticks),
            "chunks": str(stats.chunks),
            "dropped_chunks": str(stats.dropped_chunks),
            "chunk_latency_p50_ms": f"{stats.percentile_ms(50):.1f}",
            "chunk_latency_p99_ms": f"{stats.percentile_ms(99):.1f}",
            "queue_depth_min": str(stats.min_left if stats.min_left is not None else -1),
            "in_flight": str(self.in_flight is not None).lower(),
            "non_finite_actions": str(self.counts.non_finite),
            "limited_targets": str(self.counts.limited),
            "rejected_inputs": str(self.rejected.total()),
        }
        values.update({f"rejected_{reason}": str(n) for reason, n in sorted(self.rejected.items())})
        return values

    def publish_diagnostics(self, final: bool = False) -> None:
        values = {**self.diagnostic_values(), "final": str(final).lower()}
        problems = int(values["missed_ticks"]) + self.counts.non_finite + int(values["dropped_chunks"])
        problem = "missed ticks, dropped chunks or non-finite actions" if problems else None
        stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(diagnostic_array(NODE_NAME, values, problem, stamp, "smolvla"))

    def destroy_node(self) -> None:
        self.inference.shutdown(wait=False, cancel_futures=True)
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_node(VlaEnsembleNode, args)


if __name__ == "__main__":
    main()
