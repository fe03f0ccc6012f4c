"""One rosbag2 (MCAP) bag per episode, written from serialized messages. Pure Python (no rclpy).

:func:`salus_typestore` is a ``rosbags`` typestore of ROS 2 Kilted plus our ``salus_msgs`` types, registered
from the ``.msg`` files of the built package (found through the ament index), so every bag embeds the
definitions of our custom types (``ros2msg`` schemas) and ``rosbags``, the ``mcap`` tools and ``ros2 bag``
read it without our code.

:class:`EpisodeBagRecorder` turns a stream of ``(topic, serialized CDR bytes)`` into episode bags:

* **Split.** An ``EpisodeEvent`` *start* (stamp ``S``) opens a bag; the matching *end* (stamp ``E``)
  schedules its close. The bag closes once every per-step stream seen in the episode (images, joint
  states, commands, proposals, signals, ...) has delivered a message stamped ``>= E`` (the episode's last
  observation and the answers to it are in), or ``end_grace_s`` wall seconds after the end event. Streams
  arrive in any order, so messages seen while no episode is open are kept for ``preroll_s`` wall seconds
  and those stamped after ``S`` go into the next bag. A bag may hold a few messages stamped after ``E``;
  readers take the episode's window ``(S, E]`` from its events.
* **Crash safety.** The open bag is written under ``BAG_DIR/.tmp-<pid>/<name>/`` and moved to
  ``BAG_DIR/<name>/`` (one ``rename``) only after ``rosbags`` has written its index and ``metadata.yaml``.
  A killed recorder therefore leaves complete episode bags plus, at most, the open one in a hidden
  ``.tmp-<pid>`` folder that readers ignore and :func:`remove_stale_partials` deletes once that pid is gone.
* **Names.** ``seed<seed, 6 digits>`` (:func:`bag_name`): one bag per seed; recording a seed again replaces
  its bag.

**Completeness.** An episode whose best-covered per-step stream misses more than ``max_missing_steps``
of the control steps in ``(S, E]`` (the recorder's subscriptions were matched after the episode began,
events replayed from transient-local history to a late recorder, a stalled recorder) is discarded, not
saved: a bag on disk is a whole episode. Every closed episode, saved or not, is reported as a
:class:`ClosedEpisode`, so the node can acknowledge it to the episode runner.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import struct
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.interfaces import Qos
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from salus_common.contract import EPISODE_TOPIC, QOS_SETTINGS, QosKind, Topic
from salus_common.process import pid_alive
from salus_common.stamps import NS_PER_S, stamp_ns

BAG_VERSION = 9  # rosbag2 metadata version of Jazzy and later
INTERFACE_PACKAGE = "salus_msgs"
PARTIAL_PREFIX = ".tmp-"
EPISODE_EVENT_TYPE = "salus_msgs/msg/EpisodeEvent"
CUSTOM_DATA_PREFIX = "salus."


class BagWriteError(RuntimeError):
    """The bag folder cannot be written (exists as a file, not writable, ...)."""


def bag_name(seed: int) -> str:
    """The bag folder name of an episode: ``seed000042`` (one bag per seed)."""
    return f"seed{int(seed):06d}"


def interface_msg_files(package: str = INTERFACE_PACKAGE) -> list[Path]:
    """The ``.msg`` files installed by an interface package, found through the ament index."""
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    try:
        share = Path(get_package_share_directory(package))
    except (PackageNotFoundError, LookupError, ValueError) as err:
        raise LookupError(
            f"interface package '{package}' is not in the ament index (AMENT_PREFIX_PATH="
            f"{os.environ.get('AMENT_PREFIX_PATH', '')!r}); build ros2_ws and source install/setup.bash"
        ) from err
    files = sorted((share / "msg").glob("*.msg"))
    if not files:
        raise LookupError(f"no .msg files under {share / 'msg'}")
    return files


def salus_typestore(msg_files: Iterable[Path] | None = None, package: str = INTERFACE_PACKAGE) -> Typestore:
    """ROS 2 Kilted types + the custom types of ``package`` (from ``msg_files`` or the ament index)."""
    store = get_typestore(Stores.ROS2_KILTED)
    files = list(msg_files) if msg_files is not None else interface_msg_files(package)
    types: dict[str, Any] = {}
    for path in files:
        types.update(get_types_from_msg(Path(path).read_text(), f"{package}/msg/{Path(path).stem}"))
    store.register(types)
    return store


def header_stamp_ns(raw: bytes | memoryview) -> int | None:
    """The ``header.stamp`` of a CDR-serialized message that starts with a ``std_msgs/Header`` (or a Time).

    The stamp is the first field: after the 4-byte encapsulation header, int32 sec + uint32 nanosec in the
    byte order the encapsulation names. None for a buffer too short or an unknown encapsulation.
    """
    if len(raw) < 12 or raw[0] != 0:
        return None
    order = {0: ">", 1: "<"}.get(raw[1] & 0x01)  # CDR_BE / CDR_LE (and their PL_CDR variants)
    sec, nanosec = struct.unpack_from(f"{order}iI", raw, 4)
    return sec * NS_PER_S + nanosec


def rosbags_qos(kind: QosKind) -> Qos:
    """The offered-QoS record stored with a connection (informational, e.g. for ``ros2 bag play``)."""
    from rosbags.interfaces import (
        QosDurability,
        QosHistory,
        QosLiveliness,
        QosReliability,
        QosTime,
    )

    settings = QOS_SETTINGS[kind]
    never = QosTime(sec=0, nsec=0)
    return Qos(
        history=QosHistory.KEEP_LAST,
        depth=settings.depth,
        reliability=QosReliability.RELIABLE if settings.reliable else QosReliability.BEST_EFFORT,
        durability=QosDurability.TRANSIENT_LOCAL if settings.latched else QosDurability.VOLATILE,
        deadline=never,
        lifespan=never,
        liveliness=QosLiveliness.AUTOMATIC,
        liveliness_lease_duration=never,
        avoid_ros_namespace_conventions=False,
    )


# --------------------------------------------------------------------------- crash leftovers


def partial_dirs(bag_dir: Path) -> list[Path]:
    """The hidden ``.tmp-<pid>`` folders of recorders (open bags, or leftovers of killed ones)."""
    if not Path(bag_dir).is_dir():
        return []
    return sorted(p for p in Path(bag_dir).iterdir() if p.is_dir() and p.name.startswith(PARTIAL_PREFIX))


def remove_stale_partials(bag_dir: Path) -> list[Path]:
    """Delete ``.tmp-<pid>`` folders whose recorder process is gone; returns the unfinished bags removed."""
    removed: list[Path] = []
    for folder in partial_dirs(bag_dir):
        suffix = folder.name[len(PARTIAL_PREFIX) :]
        if suffix.isdigit() and pid_alive(int(suffix)):
            continue  # a live recorder's open bag
        removed += sorted(folder.iterdir())
        shutil.rmtree(folder, ignore_errors=True)
    return removed


# --------------------------------------------------------------------------- one bag


class EpisodeBag:
    """One open bag at a temporary path: :meth:`commit` moves it to its final name, :meth:`abort` drops it."""

    def __init__(
        self,
        bag_dir: Path,
        name: str,
        typestore: Typestore,
        specs: Mapping[str, Topic],
        compression: str = "zstd",
        custom_data: Mapping[str, str] | None = None,
    ) -> None:
        if compression not in ("zstd", "none"):
            raise ValueError(f"compression must be 'zstd' or 'none', got {compression!r}")
        self.bag_dir = Path(bag_dir)
        self.name = name
        self.final_path = self.bag_dir / name
        self.tmp_root = self.bag_dir / f"{PARTIAL_PREFIX}{os.getpid()}"
        self.tmp_path = self.tmp_root / name
        self.typestore = typestore
        self.specs = specs
        self.counts: dict[str, int] = {}
        try:
            self.tmp_root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise BagWriteError(f"cannot create {self.tmp_root}: {err}") from err
        if self.tmp_path.exists():
            shutil.rmtree(self.tmp_path)
        self.writer = Writer(self.tmp_path, version=BAG_VERSION, storage_plugin=StoragePlugin.MCAP)
        if compression == "zstd":  # MCAP chunk compression (what ros2 bag's zstd storage presets do)
            self.writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        for key, value in (custom_data or {}).items():
            self.writer.set_custom_data(key, value)
        self.writer.open()
        self._connections: dict[str, Any] = {}

    def set_custom_data(self, key: str, value: str) -> None:
        self.writer.set_custom_data(key, value)

    def write(self, topic: str, log_ns: int, raw: bytes | memoryview) -> None:
        connection = self._connections.get(topic)
        if connection is None:
            spec = self.specs[topic]
            connection = self.writer.add_connection(
                topic,
                spec.msgtype,
                typestore=self.typestore,
                offered_qos_profiles=[rosbags_qos(spec.publish)],  # what publishers offer,
            )
            self._connections[topic] = connection
        self.writer.write(connection, int(log_ns), raw)
        self.counts[topic] = self.counts.get(topic, 0) + 1

    def commit(self) -> Path:
        """Close (index + metadata.yaml), then move into place in one rename; the final path."""
        self.writer.close()
        if self.final_path.exists():  # the same seed recorded again: replace the old bag
            old = self.tmp_root / f"{self.name}.replaced"
            shutil.rmtree(old, ignore_errors=True)
            os.rename(self.final_path, old)
            os.rename(self.tmp_path, self.final_path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(self.tmp_path, self.final_path)
        self._cleanup_tmp_root()
        return self.final_path

    def abort(self) -> None:
        """Drop the bag: nothing of it remains."""
        try:
            self.writer.abort()
        finally:
            shutil.rmtree(self.tmp_path, ignore_errors=True)
            self._cleanup_tmp_root()

    def size_bytes(self) -> int:
        folder = self.final_path if self.final_path.exists() else self.tmp_path
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())

    def _cleanup_tmp_root(self) -> None:
        with contextlib.suppress(OSError):
            self.tmp_root.rmdir()  # only when empty


# --------------------------------------------------------------------------- the episode splitter


@dataclass(frozen=True)
class ClosedEpisode:
    """An episode the recorder is done with: saved as a bag, or discarded with a reason."""

    episode_id: str
    seed: int
    outcome: str
    saved: bool
    reason: str  # "saved", or why nothing was kept
    path: Path | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    size_bytes: int = 0
    seconds: float = 0.0  # wall time from the end event to the committed bag


@dataclass
class _Open:
    bag: EpisodeBag
    episode_id: str
    seed: int
    start_ns: int
    opened_at: float
    end_ns: int | None = None
    outcome: str = ""
    ended_at: float = 0.0
    deadline: float = float("inf")
    last_stamp: dict[str, int] = field(default_factory=dict)  # per-step topics: newest stamp seen
    window: dict[str, set[int]] = field(default_factory=dict)  # per-step topics: stamps seen so far > S


class EpisodeBagRecorder:
    """Splits a stream of serialized messages into one bag per episode (see the module docstring).

    ``now`` arguments are wall-clock seconds of any monotonic clock; ``log_ns`` is the bag timestamp of a
    message (the receive time on the recorder's ROS clock, as ``ros2 bag record`` does).
    """

    def __init__(
        self,
        bag_dir: str | os.PathLike[str],
        profile: Sequence[Topic],
        typestore: Typestore,
        compression: str = "zstd",
        end_grace_s: float = 1.0,
        preroll_s: float = 3.0,
        custom_data: Mapping[str, str] | None = None,
        max_missing_steps: int = 2,
    ) -> None:
        if end_grace_s < 0 or preroll_s < 0 or max_missing_steps < 0:
            raise ValueError("end_grace_s, preroll_s and max_missing_steps must be >= 0")
        self.max_missing_steps = int(max_missing_steps)
        self.bag_dir = Path(bag_dir).expanduser().resolve()
        self.specs = {spec.name: spec for spec in profile}
        if EPISODE_TOPIC not in self.specs:
            raise ValueError(f"the profile must include {EPISODE_TOPIC}: episodes are split on its events")
        self.typestore = typestore
        self.compression = compression
        self.end_grace_s = float(end_grace_s)
        self.preroll_s = float(preroll_s)
        self.custom_data = dict(custom_data or {})
        self.current: _Open | None = None
        self.preroll: deque[tuple[str, int | None, int, bytes, float]] = deque()
        self.saved = 0
        self.discarded = 0
        try:
            self.bag_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise BagWriteError(f"cannot create the bag folder {self.bag_dir}: {err}") from err
        if not os.access(self.bag_dir, os.W_OK):
            raise BagWriteError(f"the bag folder {self.bag_dir} is not writable")

    @property
    def recording(self) -> bool:
        return self.current is not None

    # -- input

    def message(self, topic: str, raw: bytes, log_ns: int, now: float) -> list[ClosedEpisode]:
        """One serialized message of a profile topic; returns the episodes this closed."""
        if topic not in self.specs:
            raise KeyError(f"{topic} is not in the recording profile")
        if topic == EPISODE_TOPIC:
            return self._event(raw, log_ns, now)
        stamp = header_stamp_ns(raw)
        current = self.current
        if current is None:
            self.preroll.append((topic, stamp, log_ns, bytes(raw), now))
            self._prune(now)
            return []
        self._write(current, topic, stamp, log_ns, raw)
        return self._maybe_close(now)

    def poll(self, now: float) -> list[ClosedEpisode]:
        """Close an ended episode whose grace period is over; drop old pre-roll messages."""
        self._prune(now)
        if self.current is not None and self.current.end_ns is not None and now >= self.current.deadline:
            return [self._close(now)]
        return []

    def shutdown(self, now: float) -> list[ClosedEpisode]:
        """Save an ended episode; discard one still running (its bag never appears)."""
        if self.current is None:
            return []
        if self.current.end_ns is not None:
            return [self._close(now)]
        return [self._discard("the recorder stopped before the episode ended")]

    # -- internals

    def _event(self, raw: bytes, log_ns: int, now: float) -> list[ClosedEpisode]:
        event = self.typestore.deserialize_cdr(bytes(raw), EPISODE_EVENT_TYPE)
        stamp = stamp_ns(event.header.stamp)
        closed: list[ClosedEpisode] = []
        current = self.current
        if event.event == "start":
            if current is not None:
                if current.episode_id == event.episode_id:
                    return []  # the same start again (history replay)
                if current.end_ns is not None:
                    closed.append(self._close(now))
                else:
                    closed.append(self._discard(f"a new episode ({event.episode_id}) started before its end"))
            self._open(event, stamp, raw, log_ns, now)
        elif event.event == "end":
            if current is None or current.episode_id != event.episode_id:
                self.discarded += 1
                return [
                    ClosedEpisode(
                        event.episode_id,
                        int(event.seed),
                        event.outcome,
                        False,
                        "its start was not seen by the recorder",
                    )
                ]
            current.bag.write(EPISODE_TOPIC, log_ns, raw)
            current.end_ns = stamp
            current.outcome = event.outcome
            current.ended_at = now
            current.deadline = now + self.end_grace_s
            current.bag.set_custom_data(f"{CUSTOM_DATA_PREFIX}outcome", event.outcome)
            closed += self._maybe_close(now)
        return closed

    def _open(self, event: Any, stamp: int, raw: bytes, log_ns: int, now: float) -> None:
        custom = {
            **self.custom_data,
            f"{CUSTOM_DATA_PREFIX}episode_id": event.episode_id,
            f"{CUSTOM_DATA_PREFIX}seed": str(int(event.seed)),
        }
        bag = EpisodeBag(
            self.bag_dir, bag_name(int(event.seed)), self.typestore, self.specs, self.compression, custom
        )
        current = _Open(bag, event.episode_id, int(event.seed), stamp, now)
        self.current = current
        bag.write(EPISODE_TOPIC, log_ns, raw)
        for topic, msg_stamp, msg_log_ns, msg_raw, _seen in self.preroll:
            if msg_stamp is None or msg_stamp > stamp:
                self._write(current, topic, msg_stamp, msg_log_ns, msg_raw)
        self.preroll.clear()

    def _write(self, current: _Open, topic: str, stamp: int | None, log_ns: int, raw: bytes) -> None:
        current.bag.write(topic, log_ns, raw)
        if stamp is not None and self.specs[topic].per_step:
            if stamp > current.last_stamp.get(topic, -1):
                current.last_stamp[topic] = stamp
            if stamp > current.start_ns:
                current.window.setdefault(topic, set()).add(stamp)

    def _maybe_close(self, now: float) -> list[ClosedEpisode]:
        current = self.current
        if current is None or current.end_ns is None or not current.last_stamp:
            return []
        if all(stamp >= current.end_ns for stamp in current.last_stamp.values()):
            return [self._close(now)]
        return []

    def _close(self, now: float) -> ClosedEpisode:
        current = self.current
        assert current is not None and current.end_ns is not None
        self.current = None
        problem = self._incomplete(current)
        if problem:
            return self._discard_open(current, problem)
        counts = dict(current.bag.counts)
        path = current.bag.commit()
        self.saved += 1
        return ClosedEpisode(
            current.episode_id,
            current.seed,
            current.outcome,
            True,
            "saved",
            path,
            counts,
            current.bag.size_bytes(),
            max(0.0, now - current.ended_at),
        )

    def _incomplete(self, current: _Open) -> str | None:
        """Why an ended episode's bag would miss control steps (None: complete enough to keep).

        Steps are counted on the best-covered per-step stream inside ``(S, E]``; the control period is the
        median spacing of all per-step stamps seen.
        """
        end = current.end_ns
        inside = {t: {s for s in stamps if s <= end} for t, stamps in current.window.items()}
        best = max((len(s) for s in inside.values()), default=0)
        if best == 0:
            return "no per-step message inside the episode (the recorder joined late?)"
        stamps = np.unique(np.fromiter((s for v in current.window.values() for s in v), dtype=np.int64))
        if stamps.size < 2:
            return "fewer than two control steps recorded"
        period = float(np.median(np.diff(stamps)))
        expected = round((end - current.start_ns) / period)
        if expected - best > self.max_missing_steps:
            return (
                f"incomplete: {best} of {expected} control steps recorded (the recorder joined late or "
                f"messages were lost; max_missing_steps {self.max_missing_steps})"
            )
        return None

    def _discard(self, reason: str) -> ClosedEpisode:
        current = self.current
        assert current is not None
        self.current = None
        return self._discard_open(current, reason)

    def _discard_open(self, current: _Open, reason: str) -> ClosedEpisode:
        current.bag.abort()
        self.discarded += 1
        return ClosedEpisode(current.episode_id, current.seed, current.outcome, False, reason)

    def _prune(self, now: float) -> None:
        while self.preroll and now - self.preroll[0][4] > self.preroll_s:
            self.preroll.popleft()


def recorder_custom_data(**values: Any) -> dict[str, str]:
    """``custom_data`` entries (``salus.<key>``) as rosbag2 wants them: strings (JSON for structures)."""
    out = {}
    for key, value in values.items():
        out[f"{CUSTOM_DATA_PREFIX}{key}"] = (
            value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        )
    return out
