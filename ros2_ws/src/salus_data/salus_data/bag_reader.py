"""Read SALUS episodes back from rosbag2 bags (ours, or a ``ros2 bag record`` session). Pure Python.

A bag may hold one episode (``bag_recorder``) or many (``ros2 bag record`` over a session): episodes are
the ``start``/``end`` pairs of ``/salus/episode`` events, and an episode's messages are those whose
``header.stamp`` lies in ``(S, E]`` (start and end event stamps), whatever their order in the file.
Types come from the definitions embedded in the bag (``rosbags`` ``AnyReader``), so a bag reads without
the workspace that wrote it.

Every failure to read a bag raises :class:`BagReadError`, which names the file and the last message that
could be read (log time, and its header stamp = sim time), found by scanning the MCAP file record by
record with the ``mcap`` package, which works on truncated files where the index is missing.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from salus_common.contract import (
    EPISODE_TOPIC,
    INTERVENTION_TOPIC,
    JOINT_COMMAND_TOPIC,
    JOINT_STATES_TOPIC,
    PREDICTION_TOPIC,
    PROPOSAL_TOPIC,
    SIGNALS_TOPIC,
    camera_image_topic,
    camera_of,
)
from salus_common.image_codec import ImageCodecError, image_to_rgb8
from salus_common.joint_vector import JointVectorError, joint_vector
from salus_common.stamps import stamp_ns
from salus_data.bag_writer import CUSTOM_DATA_PREFIX, PARTIAL_PREFIX, header_stamp_ns

# Topics an episode is built from (besides the camera images); others (camera info, poses) are not decoded.
EPISODE_TOPICS = {
    EPISODE_TOPIC,
    JOINT_STATES_TOPIC,
    JOINT_COMMAND_TOPIC,
    PROPOSAL_TOPIC,
    SIGNALS_TOPIC,
    PREDICTION_TOPIC,
    INTERVENTION_TOPIC,
}


class BagReadError(RuntimeError):
    """A bag that cannot be read (truncated, corrupted, not a recording): names the file + last good time."""

    def __init__(self, path: Path, detail: str, last_good: LastGood | None = None) -> None:
        self.path = Path(path)
        self.detail = detail
        self.last_good = last_good
        where = f"; {last_good.describe()}" if last_good is not None else ""
        super().__init__(f"{self.path}: {detail}{where}")


@dataclass(frozen=True)
class LastGood:
    """The last message readable from the start of an MCAP file."""

    messages: int  # messages readable before the damage
    log_ns: int | None  # its bag timestamp (receive time on the recorder's clock)
    stamp_ns: int | None  # its header stamp (sim time in SALUS graphs), when it has one
    topic: str | None

    def describe(self) -> str:
        if self.messages == 0 or self.log_ns is None:
            return "no message could be read"
        stamp = f", header stamp {self.stamp_ns * 1e-9:.3f} s" if self.stamp_ns is not None else ""
        log = f"log time {self.log_ns * 1e-9:.3f} s"
        return f"last good message #{self.messages} on {self.topic} at {log}{stamp}"


def mcap_files(path: Path) -> list[Path]:
    path = Path(path)
    if path.is_file():
        return [path]
    return sorted(p for p in path.glob("*.mcap") if p.is_file())


def last_good_message(path: Path) -> LastGood:
    """Scan MCAP record by record (no index needed) and report the last message that decodes."""
    from mcap.records import Channel, Message
    from mcap.stream_reader import StreamReader

    count, log_ns, stamp, topic = 0, None, None, None
    topics: dict[int, str] = {}
    for file in mcap_files(path):
        try:
            with file.open("rb") as stream:
                for record in StreamReader(stream, skip_magic=False).records:
                    if isinstance(record, Channel):
                        topics[record.id] = record.topic
                    elif isinstance(record, Message):
                        count += 1
                        log_ns = record.log_time
                        stamp = header_stamp_ns(record.data)
                        topic = topics.get(record.channel_id, f"channel {record.channel_id}")
        except Exception:  # noqa: BLE001 - any damage ends the scan; what was read so far is the answer
            break
    return LastGood(count, log_ns, stamp, topic)


def find_bags(paths: Iterable[str | Path]) -> list[Path]:
    """Bags under the given paths: rosbag2 folders (``metadata.yaml`` or ``*.mcap`` inside) and ``.mcap``
    files. Hidden entries (``.tmp-<pid>`` folders of recorders at work or killed) are skipped."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser().resolve()
        if not path.exists():
            raise FileNotFoundError(f"no such bag or folder: {path}")
        if path.is_file() or _is_bag_dir(path):
            found.append(path)
        else:
            for child in sorted(path.iterdir()):
                if child.name.startswith(".") or child.name.startswith(PARTIAL_PREFIX):
                    continue
                if child.is_dir() and _is_bag_dir(child) or child.is_file() and child.suffix == ".mcap":
                    found.append(child)
    return sorted(dict.fromkeys(found))


def _is_bag_dir(path: Path) -> bool:
    return (path / "metadata.yaml").is_file() or any(path.glob("*.mcap"))


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class EpisodeInfo:
    """What the episode events say."""

    episode_id: str
    seed: int
    start_ns: int  # start event stamp S
    end_ns: int  # end event stamp E (the last observation of the episode)
    outcome: str
    failure_onset_s: float  # NaN for success
    duration_s: float
    perturbations: tuple[str, ...]
    perturbation_params_json: str

    @property
    def perturbation_params(self) -> dict[str, Any]:
        return json.loads(self.perturbation_params_json or "{}")


@dataclass
class Stream:
    """Messages of one topic inside the episode window, in stamp order (one per stamp: the last received)."""

    stamps: np.ndarray  # (n,) int64 header stamps [ns]
    values: list[Any]  # per message: an array (or None for image stamps read without pixels)

    @property
    def empty(self) -> bool:
        return len(self.stamps) == 0

    def stack(self, width: int | None = None) -> np.ndarray:
        if not self.values:
            return np.zeros((0, width or 0), dtype=np.float64)
        return np.stack(self.values)


@dataclass
class Predictions:
    """The failure predictor's messages of an episode, as published live (empty when none ran)."""

    stamps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (n,) [ns]
    probabilities: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))  # (n, horizons, types)
    alert: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # (n,)
    threshold: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (n,)
    horizons_s: tuple[float, ...] = ()
    failure_types: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return len(self.stamps) == 0


@dataclass
class Interventions:
    """The action filter's SafetyIntervention messages of an episode (empty when no filter ran): what it
    executed at each step and why."""

    stamps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (n,) [ns]
    sources: tuple[str, ...] = ()  # "vla" (forwarded), "manifold" (replaced), "hold"
    risk_before: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (n,), NaN without a prediction
    candidates: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (n,)
    reasons: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return len(self.stamps) == 0

    def stamps_of(self, *sources: str) -> np.ndarray:
        """The stamps of the steps whose output came from one of ``sources``."""
        keep = np.array([s in sources for s in self.sources], dtype=bool)
        return self.stamps[keep] if len(self.stamps) else self.stamps


@dataclass
class EpisodeData:
    """One episode's messages, decoded."""

    bag: Path
    info: EpisodeInfo
    custom_data: dict[str, str]
    joint_names: tuple[str, ...]
    cameras: tuple[str, ...]
    state: Stream  # joint positions (n, J)
    velocity: Stream  # joint velocities (n, J), same stamps as state
    action: Stream  # commanded positions (n, J)
    proposal_mean: Stream
    proposal_std: Stream
    signals: Stream  # (n, 12), or (n, 12 + extended) when the VLA published the extended signals
    signal_names: tuple[str, ...]  # the 12, then the extended names if any
    images: dict[str, Stream]  # camera -> (H, W, 3) uint8 per message (None without pixels)
    image_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # camera -> (H, W, 3)
    counts: dict[str, int] = field(default_factory=dict)  # messages per topic in the bag (whole file)
    predictions: Predictions = field(default_factory=Predictions)
    interventions: Interventions = field(default_factory=Interventions)
    # SalusSignals.prefix_embedding per message that carried one (n, D)
    prefix_embedding: Stream = field(default_factory=lambda: Stream(np.zeros(0, dtype=np.int64), []))

    @property
    def metadata(self) -> dict[str, Any]:
        """The ``salus.metadata`` custom data (what ``salus-collect`` stored: scenario, policy, ...)."""
        text = self.custom_data.get(f"{CUSTOM_DATA_PREFIX}metadata")
        return json.loads(text) if text else {}


# --------------------------------------------------------------------------- reading


def bag_metadata(path: Path) -> dict[str, Any]:
    """``rosbag2_bagfile_information`` of a rosbag2 folder's ``metadata.yaml`` (empty if none)."""
    import yaml

    meta = Path(path) / "metadata.yaml"
    if not meta.is_file():
        return {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(meta.read_text(), Loader=loader) or {}  # noqa: S506 - a safe loader
    return data.get("rosbag2_bagfile_information") or {}


def read_custom_data(path: Path) -> dict[str, str]:
    """``custom_data`` of a rosbag2 folder's ``metadata.yaml`` (empty for a bare .mcap)."""
    custom = bag_metadata(path).get("custom_data") or {}
    return {str(k): str(v) for k, v in custom.items()}


def reader_path(path: Path) -> Path:
    """What to open with rosbags: a folder's single .mcap when rosbag2 compressed nothing outside it
    (skips rosbags' slow metadata.yaml parsing; the MCAP summary holds the same), else the folder."""
    path = Path(path)
    if not path.is_dir():
        return path
    files = mcap_files(path)
    if len(files) == 1 and not bag_metadata(path).get("compression_mode"):
        return files[0]
    return path


def read_episodes(
    path: str | Path,
    images: str = "pixels",
    cameras: Sequence[str] | None = None,
    episode_ids: Iterable[str] | None = None,
) -> list[EpisodeData]:
    """Every complete episode (start and end event) of one bag.

    ``images``: ``"pixels"`` decodes camera frames, ``"stamps"`` keeps only their stamps (cheap: headers
    only), ``"none"`` skips image topics. ``cameras`` limits the cameras (default: all image topics).
    ``episode_ids`` limits the episodes returned. Raises :class:`BagReadError`.
    """
    if images not in ("pixels", "stamps", "none"):
        raise ValueError(f"images must be 'pixels', 'stamps' or 'none', got {images!r}")
    path = Path(path)
    wanted_ids = set(episode_ids) if episode_ids is not None else None
    try:
        raw_by_topic, counts, typestore_types = _read_raw(path, images, cameras, only=EPISODE_TOPICS)
    except BagReadError:
        raise
    except Exception as err:  # truncated/corrupted files fail in many ways inside the readers
        raise BagReadError(
            path, f"cannot read the bag ({type(err).__name__}: {err})", last_good_message(path)
        ) from err
    reader_store, msgtypes = typestore_types
    decode = _Decoder(path, reader_store, msgtypes)
    events = [decode.event(raw) for _stamp, raw in raw_by_topic.get(EPISODE_TOPIC, [])]
    markers = _pair_events(events)
    if not markers:
        raise BagReadError(path, f"no complete episode: no start/end pair of {EPISODE_TOPIC} events")
    custom = read_custom_data(path) if path.is_dir() else {}
    episodes = []
    for info in markers:
        if wanted_ids is not None and info.episode_id not in wanted_ids:
            continue
        episodes.append(decode.episode(info, raw_by_topic, custom, counts, images))
    return episodes


def _read_raw(
    path: Path, images: str, cameras: Sequence[str] | None, only: set[str] | None = None
) -> tuple[dict[str, list[tuple[int, bytes]]], dict[str, int], tuple[Any, dict[str, str]]]:
    from rosbags.highlevel import AnyReader

    if not path.exists():
        raise BagReadError(path, "no such bag")
    by_topic: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
    counts: dict[str, int] = {}
    with AnyReader([reader_path(path)]) as reader:
        selected = []
        for connection in reader.connections:
            counts[connection.topic] = counts.get(connection.topic, 0) + connection.msgcount
            camera = camera_of(connection.topic)
            if camera is not None and (images == "none" or (cameras is not None and camera not in cameras)):
                continue
            if only is not None and connection.topic not in only and camera is None:
                continue
            selected.append(connection)
        msgtypes = {c.topic: c.msgtype for c in selected}
        for connection, _log_ns, raw in reader.messages(connections=selected):
            stamp = header_stamp_ns(raw)
            by_topic[connection.topic].append((stamp if stamp is not None else -1, raw))
        store = reader.typestore
    return by_topic, counts, (store, msgtypes)


def read_frames(path: str | Path, wanted: Mapping[str, Iterable[int]]) -> dict[str, dict[int, np.ndarray]]:
    """The rgb8 frames of ``wanted`` (camera -> header stamps [ns]) of one bag: camera -> stamp -> frame.

    Reads only those cameras' image topics and decodes only the wanted frames (several messages with one
    stamp: the last received wins, as in :func:`read_episodes`); the second pass of ``salus-bag2zarr``,
    which already knows every step's stamps. Raises :class:`BagReadError`; a wanted stamp missing from the
    bag is the caller's to report.
    """
    from rosbags.highlevel import AnyReader

    path = Path(path)
    wanted_sets = {camera: set(stamps) for camera, stamps in wanted.items()}
    raw_by_camera: dict[str, dict[int, bytes]] = {camera: {} for camera in wanted_sets}
    try:
        with AnyReader([reader_path(path)]) as reader:
            selected = [c for c in reader.connections if camera_of(c.topic) in wanted_sets]
            for connection, _log_ns, raw in reader.messages(connections=selected):
                camera = camera_of(connection.topic)
                stamp = header_stamp_ns(raw)
                if stamp in wanted_sets[camera]:
                    raw_by_camera[camera][stamp] = raw
            decode = _Decoder(path, reader.typestore, {c.topic: c.msgtype for c in selected})
    except Exception as err:  # noqa: BLE001 - truncated/corrupted files fail in many ways inside the readers
        raise BagReadError(
            path, f"cannot read the bag ({type(err).__name__}: {err})", last_good_message(path)
        ) from err
    return {
        camera: {stamp: decode._image(camera_image_topic(camera), stamp, raw) for stamp, raw in raws.items()}
        for camera, raws in raw_by_camera.items()
    }


def _pair_events(events: Sequence[Any]) -> list[EpisodeInfo]:
    """Start/end pairs by episode id, in start order; duplicates (replays) ignored."""
    starts: dict[str, tuple[int, Any]] = {}
    ends: dict[str, tuple[int, Any]] = {}
    for stamp, event in events:
        table = starts if event.event == "start" else ends if event.event == "end" else None
        if table is not None and event.episode_id not in table:
            table[event.episode_id] = (stamp, event)
    infos = []
    for episode_id, (start_ns, _start) in sorted(starts.items(), key=lambda item: item[1][0]):
        if episode_id not in ends:
            continue
        end_ns, end = ends[episode_id]
        onset = float(end.failure_onset_time)
        infos.append(
            EpisodeInfo(
                episode_id=episode_id,
                seed=int(end.seed),
                start_ns=start_ns,
                end_ns=end_ns,
                outcome=str(end.outcome),
                failure_onset_s=onset if math.isfinite(onset) else math.nan,
                duration_s=float(end.duration),
                perturbations=tuple(end.perturbations),
                perturbation_params_json=str(end.perturbation_params_json),
            )
        )
    return infos


class _Decoder:
    def __init__(self, path: Path, typestore: Any, msgtypes: dict[str, str]) -> None:
        self.path = path
        self.store = typestore
        self.msgtypes = msgtypes

    def _decode(self, topic: str, raw: bytes) -> Any:
        try:
            return self.store.deserialize_cdr(raw, self.msgtypes[topic])
        except Exception as err:
            stamp = header_stamp_ns(raw)
            at = f" stamped {stamp * 1e-9:.3f} s" if stamp is not None else ""
            raise BagReadError(
                self.path,
                f"corrupted {topic} message{at} ({type(err).__name__}: {err})",
                last_good_message(self.path),
            ) from err

    def event(self, raw: bytes) -> tuple[int, Any]:
        msg = self._decode(EPISODE_TOPIC, raw)
        return stamp_ns(msg.header.stamp), msg

    def episode(
        self,
        info: EpisodeInfo,
        raw_by_topic: dict[str, list[tuple[int, bytes]]],
        custom: dict[str, str],
        counts: dict[str, int],
        images: str,
    ) -> EpisodeData:
        def window(topic: str) -> list[tuple[int, bytes]]:
            latest: dict[int, bytes] = {}
            for stamp, raw in raw_by_topic.get(topic, []):
                if info.start_ns < stamp <= info.end_ns:
                    latest[stamp] = raw  # several messages for one stamp: the last received wins
            return sorted(latest.items())

        states = [(s, self._decode(JOINT_STATES_TOPIC, r)) for s, r in window(JOINT_STATES_TOPIC)]
        if not states:
            raise BagReadError(
                self.path, f"episode {info.episode_id}: no {JOINT_STATES_TOPIC} inside the episode"
            )
        joint_names = _joint_names(custom, states[0][1])
        state = Stream(np.array([s for s, _ in states], dtype=np.int64), [])
        velocity = Stream(state.stamps, [])
        for stamp, msg in states:
            state.values.append(
                self._reorder(info, JOINT_STATES_TOPIC, stamp, msg.name, msg.position, joint_names)
            )
            vel = msg.velocity if len(msg.velocity) == len(msg.name) else np.full(len(msg.name), np.nan)
            velocity.values.append(self._reorder(info, JOINT_STATES_TOPIC, stamp, msg.name, vel, joint_names))

        action = Stream(np.zeros(0, dtype=np.int64), [])
        stamps = []
        for stamp, raw in window(JOINT_COMMAND_TOPIC):
            msg = self._decode(JOINT_COMMAND_TOPIC, raw)
            stamps.append(stamp)
            action.values.append(
                self._reorder(info, JOINT_COMMAND_TOPIC, stamp, msg.name, msg.position, joint_names)
            )
        action.stamps = np.array(stamps, dtype=np.int64)

        mean = Stream(np.zeros(0, dtype=np.int64), [])
        std = Stream(np.zeros(0, dtype=np.int64), [])
        stamps = []
        for stamp, raw in window(PROPOSAL_TOPIC):
            msg = self._decode(PROPOSAL_TOPIC, raw)
            names = list(msg.joint_names) or list(joint_names)
            stamps.append(stamp)
            mean.values.append(self._reorder(info, PROPOSAL_TOPIC, stamp, names, msg.mean, joint_names))
            std.values.append(self._reorder(info, PROPOSAL_TOPIC, stamp, names, msg.std, joint_names))
        mean.stamps = std.stamps = np.array(stamps, dtype=np.int64)

        signals, signal_names, embedding = self._signals(window(SIGNALS_TOPIC))

        predictions = self._predictions(window(PREDICTION_TOPIC))
        interventions = self._interventions(window(INTERVENTION_TOPIC))
        cameras = tuple(sorted({c for t in raw_by_topic if (c := camera_of(t)) is not None}))
        camera_order = _camera_order(custom, cameras)
        frames: dict[str, Stream] = {}
        shapes: dict[str, tuple[int, ...]] = {}
        for camera in camera_order:
            topic = camera_image_topic(camera)
            items = window(topic)
            stream = Stream(np.array([s for s, _ in items], dtype=np.int64), [])
            for stamp, raw in items:
                stream.values.append(self._image(topic, stamp, raw) if images == "pixels" else None)
            if items:  # without pixels, decode one frame for the size
                first = stream.values[0] if images == "pixels" else self._image(topic, *items[0])
                shapes[camera] = tuple(first.shape)
            frames[camera] = stream
        return EpisodeData(
            bag=self.path,
            info=info,
            custom_data=custom,
            joint_names=joint_names,
            cameras=tuple(camera_order),
            state=state,
            velocity=velocity,
            action=action,
            proposal_mean=mean,
            proposal_std=std,
            signals=signals,
            signal_names=signal_names,
            images=frames,
            image_shapes=shapes,
            counts=dict(counts),
            predictions=predictions,
            interventions=interventions,
            prefix_embedding=embedding,
        )

    def _signals(self, items: list[tuple[int, bytes]]) -> tuple[Stream, tuple[str, ...], Stream]:
        """Signal rows (the 12, then the extended ones; NaN where a message lacks them), their names and
        the prefix embeddings. Bags recorded before the extended fields existed decode with their own
        (embedded) type, which has none of them."""
        decoded = [(stamp, self._decode(SIGNALS_TOPIC, raw)) for stamp, raw in items]
        base_names = next((tuple(m.names) for _, m in decoded if len(m.names)), ())
        extended_names = next(
            (tuple(m.extended_names) for _, m in decoded if len(getattr(m, "extended_names", ()))), ()
        )
        nan_extended = np.full(len(extended_names), np.nan)
        rows, embedding = Stream(np.array([s for s, _ in decoded], dtype=np.int64), []), Stream([], [])
        embedding_stamps = []
        for stamp, msg in decoded:
            extended = np.asarray(getattr(msg, "extended_values", ()), dtype=np.float64)
            if extended.size != len(extended_names):
                extended = nan_extended
            rows.values.append(np.concatenate([np.asarray(msg.values, dtype=np.float64), extended]))
            vector = np.asarray(getattr(msg, "prefix_embedding", ()), dtype=np.float32)
            if vector.size:
                embedding_stamps.append(stamp)
                embedding.values.append(vector)
        embedding.stamps = np.array(embedding_stamps, dtype=np.int64)
        return rows, base_names + extended_names, embedding

    def _predictions(self, items: list[tuple[int, bytes]]) -> Predictions:
        """Prediction messages whose probabilities fit their horizons x types (others are skipped)."""
        decoded = [(stamp, self._decode(PREDICTION_TOPIC, raw)) for stamp, raw in items]
        good = [
            (s, m) for s, m in decoded if len(m.probabilities) == len(m.horizons) * len(m.failure_types) > 0
        ]
        if not good:
            return Predictions()
        first = good[0][1]
        shape = (len(first.horizons), len(first.failure_types))
        kept = [(s, m) for s, m in good if (len(m.horizons), len(m.failure_types)) == shape]
        return Predictions(
            stamps=np.array([s for s, _ in kept], dtype=np.int64),
            probabilities=np.stack(
                [np.asarray(m.probabilities, dtype=np.float64).reshape(shape) for _, m in kept]
            ),
            alert=np.array([bool(m.alert) for _, m in kept]),
            threshold=np.array([float(m.threshold) for _, m in kept]),
            horizons_s=tuple(float(h) for h in first.horizons),
            failure_types=tuple(first.failure_types),
        )

    def _interventions(self, items: list[tuple[int, bytes]]) -> Interventions:
        if not items:
            return Interventions()
        decoded = [(stamp, self._decode(INTERVENTION_TOPIC, raw)) for stamp, raw in items]
        return Interventions(
            stamps=np.array([s for s, _ in decoded], dtype=np.int64),
            sources=tuple(str(m.source) for _, m in decoded),
            risk_before=np.array([float(m.risk_before) for _, m in decoded]),
            candidates=np.array([int(m.candidates_evaluated) for _, m in decoded], dtype=np.int64),
            reasons=tuple(str(m.reason) for _, m in decoded),
        )

    def _image(self, topic: str, stamp: int, raw: bytes) -> np.ndarray:
        try:
            return image_to_rgb8(self._decode(topic, raw))
        except ImageCodecError as err:
            raise BagReadError(self.path, f"{topic} image stamped {stamp * 1e-9:.3f} s: {err}") from err

    def _reorder(
        self,
        info: EpisodeInfo,
        topic: str,
        stamp: int,
        names: Sequence[str],
        values: Sequence[float],
        order: Sequence[str],
    ) -> np.ndarray:
        try:  # NaN is how a missing velocity reads; joint names follow the one rule of salus_common
            return joint_vector(names, values, order, require_finite=False)
        except JointVectorError as err:
            raise BagReadError(
                self.path, f"episode {info.episode_id}: {topic} stamped {stamp * 1e-9:.3f} s: {err}"
            ) from err


def _joint_names(custom: dict[str, str], first_state: Any) -> tuple[str, ...]:
    robot = custom.get(f"{CUSTOM_DATA_PREFIX}robot")
    if robot:
        names = json.loads(robot).get("joint_names")
        if names:
            return tuple(names)
    return tuple(first_state.name)


def _camera_order(custom: dict[str, str], cameras: Sequence[str]) -> list[str]:
    robot = custom.get(f"{CUSTOM_DATA_PREFIX}robot")
    if robot:
        listed = [c for c in json.loads(robot).get("cameras", []) if c in cameras]
        return listed + [c for c in cameras if c not in listed]
    return list(cameras)


def read_episode_infos(path: str | Path) -> list[EpisodeInfo]:
    """Only the episode events of a bag (cheap; used to adopt bags into a collection manifest)."""
    from rosbags.highlevel import AnyReader

    path = Path(path)
    try:
        with AnyReader([reader_path(path)]) as reader:
            connections = [c for c in reader.connections if c.topic == EPISODE_TOPIC]
            events = []
            for connection, _log, raw in reader.messages(connections=connections):
                msg = reader.deserialize(raw, connection.msgtype)
                events.append((stamp_ns(msg.header.stamp), msg))
    except Exception as err:
        raise BagReadError(
            path, f"cannot read the bag ({type(err).__name__}: {err})", last_good_message(path)
        ) from err
    return _pair_events(events)
