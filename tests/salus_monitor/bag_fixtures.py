"""Synthetic SALUS episodes as serialized messages, fed through the real bag writer. No rclpy, no sim.

Messages are serialized with the rosbags typestore (the same CDR bytes rclpy produces), so tests of the
writer, reader and converters run without DDS. Stamps follow the sim node: the start event is stamped
with the last tick before the reset (``S``), step ``k`` (1..n) with ``S + k*dt``, the end event with the
last observation ``E = S + n*dt``; one more tick (``E + dt``) follows, as the sim keeps publishing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from salus_monitor.recording.bag_topics import (
    EPISODE_TOPIC,
    JOINT_COMMAND_TOPIC,
    JOINT_STATES_TOPIC,
    PROPOSAL_TOPIC,
    SIGNALS_TOPIC,
    camera_image_topic,
    topic_profile,
)
from salus_monitor.recording.bag_writer import ClosedEpisode, EpisodeBagRecorder, salus_typestore

JOINTS = tuple(f"panda_joint{i}" for i in range(1, 8)) + ("panda_finger_joint1", "panda_finger_joint2")
CAMERAS = ("front", "wrist")
DT_NS = 100_000_000  # 10 Hz
_STORE = None


def typestore():
    global _STORE
    if _STORE is None:
        _STORE = salus_typestore()
    return _STORE


def _time(ns: int):
    time_type = typestore().types["builtin_interfaces/msg/Time"]
    return time_type(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def _header(ns: int, frame: str = ""):
    header_type = typestore().types["std_msgs/msg/Header"]
    return header_type(stamp=_time(ns), frame_id=frame)


def serialize(msg, msgtype: str) -> bytes:
    return bytes(typestore().serialize_cdr(msg, msgtype))


def event_msg(
    stamp: int,
    episode_id: str,
    seed: int,
    event: str,
    outcome: str = "",
    onset: float = math.nan,
    duration: float = 0.0,
    perturbations: Sequence[str] = (),
    params: dict | None = None,
) -> bytes:
    event_type = typestore().types["salus_msgs/msg/EpisodeEvent"]
    msg = event_type(
        header=_header(stamp),
        episode_id=episode_id,
        seed=seed,
        event=event,
        outcome=outcome,
        failure_onset_time=onset,
        duration=duration,
        perturbations=list(perturbations),
        perturbation_params_json=json.dumps(params or {"cube_xy": [0.5, 0.0]}),
    )
    return serialize(msg, "salus_msgs/msg/EpisodeEvent")


def joint_msg(stamp: int, position: np.ndarray, names: Sequence[str] = JOINTS) -> bytes:
    joint_type = typestore().types["sensor_msgs/msg/JointState"]
    n = len(names)
    msg = joint_type(
        header=_header(stamp),
        name=list(names),
        position=np.asarray(position, dtype=np.float64),
        velocity=np.full(n, 0.5),
        effort=np.zeros(n),
    )
    return serialize(msg, "sensor_msgs/msg/JointState")


def image_pixels(stamp: int, camera: str, size: int) -> np.ndarray:
    """A deterministic picture per (stamp, camera): tests can tell which frame landed where."""
    value = (stamp // DT_NS) % 251
    base = np.full((size, size, 3), value, dtype=np.uint8)
    base[..., 1] = CAMERAS.index(camera) if camera in CAMERAS else 7
    return base


def image_msg(stamp: int, camera: str, size: int) -> bytes:
    image_type = typestore().types["sensor_msgs/msg/Image"]
    pixels = image_pixels(stamp, camera, size)
    msg = image_type(
        header=_header(stamp, f"{camera}_camera_optical_frame"),
        height=size,
        width=size,
        encoding="rgb8",
        is_bigendian=0,
        step=size * 3,
        data=pixels.reshape(-1),
    )
    return serialize(msg, "sensor_msgs/msg/Image")


def proposal_msg(stamp: int, k: int) -> bytes:
    proposal_type = typestore().types["salus_msgs/msg/ActionProposal"]
    mean = np.arange(9, dtype=np.float32) + k
    std = np.full(9, 0.01 * k, dtype=np.float32)
    msg = proposal_type(
        header=_header(stamp),
        joint_names=list(JOINTS),
        mean=mean,
        std=std,
        samples=np.tile(mean, 2),
        num_samples=2,
        action_dim=9,
        chunk_index=k // 5,
        step_in_chunk=k % 5,
        model_id="synthetic",
    )
    return serialize(msg, "salus_msgs/msg/ActionProposal")


def signals_msg(stamp: int, k: int) -> bytes:
    signals_type = typestore().types["salus_msgs/msg/SalusSignals"]
    msg = signals_type(
        header=_header(stamp),
        names=[f"s{i}" for i in range(12)],
        values=np.arange(12, dtype=np.float32) * k,
        chunk_index=k // 5,
    )
    return serialize(msg, "salus_msgs/msg/SalusSignals")


def state_at(k: int) -> np.ndarray:
    return np.linspace(0.0, 0.8, 9) + 0.01 * k


@dataclass(frozen=True)
class Episode:
    seed: int
    steps: int = 20
    outcome: str = "success"
    onset: float = math.nan
    start_ns: int = 5 * DT_NS
    vla: bool = False
    image_size: int = 16
    drop_steps: tuple[int, ...] = ()  # steps whose front image is missing

    @property
    def episode_id(self) -> str:
        return f"ep{self.seed:06d}-seed{self.seed}"

    @property
    def end_ns(self) -> int:
        return self.start_ns + self.steps * DT_NS


def episode_messages(ep: Episode) -> list[tuple[str, bytes]]:
    """The message sequence of one episode as the recorder would receive it (plus one tick after)."""
    out: list[tuple[str, bytes]] = [(EPISODE_TOPIC, event_msg(ep.start_ns, ep.episode_id, ep.seed, "start"))]
    for k in range(1, ep.steps + 2):
        stamp = ep.start_ns + k * DT_NS
        for camera in CAMERAS:
            if camera == "front" and k in ep.drop_steps:
                continue
            out.append((camera_image_topic(camera), image_msg(stamp, camera, ep.image_size)))
        out.append((JOINT_STATES_TOPIC, joint_msg(stamp, state_at(k))))
        if ep.vla:
            out.append((PROPOSAL_TOPIC, proposal_msg(stamp, k)))
            out.append((SIGNALS_TOPIC, signals_msg(stamp, k)))
        out.append((JOINT_COMMAND_TOPIC, joint_msg(stamp, state_at(k) + 0.05)))
        if k == ep.steps:
            duration = (ep.steps + 1) * DT_NS * 1e-9
            out.append(
                (
                    EPISODE_TOPIC,
                    event_msg(stamp, ep.episode_id, ep.seed, "end", ep.outcome, ep.onset, duration),
                )
            )
    return out


def make_recorder(bag_dir: Path, **kwargs) -> EpisodeBagRecorder:
    return EpisodeBagRecorder(bag_dir, topic_profile(CAMERAS), typestore(), **kwargs)


def record(
    recorder: EpisodeBagRecorder, episodes: Sequence[Episode], now: float = 0.0
) -> list[ClosedEpisode]:
    closed: list[ClosedEpisode] = []
    for ep in episodes:
        for topic, raw in episode_messages(ep):
            closed += recorder.message(topic, raw, log_ns=_stamp_of(raw), now=now)
            now += 0.001
        now += 5.0
        closed += recorder.poll(now)
    return closed


def _stamp_of(raw: bytes) -> int:
    from salus_monitor.recording.bag_writer import header_stamp_ns

    return header_stamp_ns(raw) or 0


def write_bags(bag_dir: Path, episodes: Sequence[Episode], **kwargs) -> list[ClosedEpisode]:
    return record(make_recorder(bag_dir, **kwargs), episodes)
