"""frame_sync + session: message fields → arrays, stamp matching into frames, frames into episodes.

Pure Python: no rclpy, no lerobot.
"""

from __future__ import annotations

import array
import math

import numpy as np
import pytest

from salus_monitor.recording.frame_sync import (
    Frame,
    FrameAssembler,
    FrameInputError,
    image_array,
    joint_vector,
    stamp_ns,
)
from salus_monitor.recording.session import EpisodeSession

JOINTS = [f"panda_joint{i}" for i in range(1, 8)] + ["panda_finger_joint1", "panda_finger_joint2"]
CAMERAS = ("front", "wrist")
TICK = 100_000_000  # 0.1 s control period [ns]


# --------------------------------------------------------------------------- message fields


def test_image_array_reads_rgb8_and_strips_row_padding() -> None:
    pixels = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    plain = image_array(4, 5, "rgb8", 15, pixels.tobytes(), (4, 5))
    np.testing.assert_array_equal(plain, pixels)
    padded_rows = np.concatenate([pixels.reshape(4, 15), np.zeros((4, 3), np.uint8)], axis=1)
    padded = image_array(4, 5, "rgb8", 18, array.array("B", padded_rows.tobytes()))  # what rclpy hands over
    np.testing.assert_array_equal(padded, pixels)
    assert image_array(1, 1, "rgb8", 3, [1, 2, 3]).tolist() == [[[1, 2, 3]]]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((4, 5, "bgr8", 15, bytes(60), (4, 5)), "encoding"),
        ((4, 5, "rgb8", 15, bytes(60), (8, 5)), "image_size"),
        ((0, 5, "rgb8", 15, b"", None), "image_size"),
        ((4, 5, "rgb8", 15, bytes(59), None), "image_data"),
        ((4, 5, "rgb8", 12, bytes(60), None), "image_data"),
    ],
)
def test_image_array_rejects_with_a_reason(args, reason: str) -> None:
    with pytest.raises(FrameInputError) as info:
        image_array(*args)
    assert info.value.reason == reason


def test_joint_vector_orders_by_name_as_float32() -> None:
    values = list(range(9))
    shuffled = list(zip(JOINTS, values, strict=True))[::-1]
    vector = joint_vector([n for n, _ in shuffled], [v for _, v in shuffled], JOINTS)
    assert vector.dtype == np.float32 and vector.tolist() == values


@pytest.mark.parametrize(
    ("names", "values", "reason"),
    [
        (JOINTS[:8], [0.0] * 9, "count_mismatch"),
        (JOINTS[:8] + [JOINTS[0]], [0.0] * 9, "duplicate_joints"),
        ([n.replace("panda", "fr3") for n in JOINTS], [0.0] * 9, "unknown_joints"),
        (JOINTS[:8], [0.0] * 8, "missing_joints"),
        (JOINTS, [0.0] * 8 + [math.nan], "non_finite"),
    ],
)
def test_joint_vector_rejects_with_a_reason(names, values, reason: str) -> None:
    with pytest.raises(FrameInputError) as info:
        joint_vector(names, values, JOINTS)
    assert info.value.reason == reason


def test_stamp_ns_is_exact() -> None:
    assert stamp_ns(12, 300_000_000) == 12_300_000_000
    assert stamp_ns(0, 1) != stamp_ns(0, 2)


# --------------------------------------------------------------------------- assembler


def image(value: int) -> np.ndarray:
    return np.full((2, 2, 3), value, np.uint8)


def feed(assembler: FrameAssembler, stamp: int, order: str = "fwsa") -> list[Frame]:
    """Give every item of one tick; ``order`` letters: f front image, w wrist, s state, a action."""
    out = []
    for kind in order:
        if kind == "f":
            out.append(assembler.add_image("front", stamp, image(1)))
        elif kind == "w":
            out.append(assembler.add_image("wrist", stamp, image(2)))
        elif kind == "s":
            out.append(assembler.add_state(stamp, np.full(9, stamp, np.float32)))
        else:
            out.append(assembler.add_action(stamp, np.full(9, -stamp, np.float32)))
    return [f for f in out if f is not None]


@pytest.mark.parametrize("order", ["fwsa", "asfw", "swaf", "wafs"])
def test_a_frame_completes_whatever_the_arrival_order(order: str) -> None:
    assembler = FrameAssembler(CAMERAS)
    frames = feed(assembler, 7 * TICK, order)
    assert len(frames) == 1
    frame = frames[0]
    assert frame.stamp_ns == 7 * TICK and list(frame.images) == list(CAMERAS)
    assert frame.state[0] == 7 * TICK and frame.action[0] == -7 * TICK
    assert assembler.pending == 0 and assembler.counters.frames == 1


def test_interleaved_ticks_pair_items_by_stamp_not_by_arrival() -> None:
    assembler = FrameAssembler(CAMERAS)
    t1, t2 = TICK, 2 * TICK
    assert feed(assembler, t1, "fws") == []  # the action for t1 is still in flight
    assert feed(assembler, t2, "fws") == []
    (first,) = feed(assembler, t1, "a")
    (second,) = feed(assembler, t2, "a")
    assert (first.stamp_ns, second.stamp_ns) == (t1, t2)
    assert first.action[0] == -t1 and second.state[0] == t2


def test_an_older_partial_frame_is_dropped_when_a_newer_one_completes_and_stragglers_are_late() -> None:
    assembler = FrameAssembler(CAMERAS)
    feed(assembler, TICK, "sa")  # its images were lost (best-effort)
    (frame,) = feed(assembler, 2 * TICK)
    assert frame.stamp_ns == 2 * TICK
    assert assembler.counters.incomplete == 1 and assembler.pending == 0
    assert feed(assembler, TICK, "fw") == []  # the lost images turn up after all: too late
    assert assembler.counters.late == 2 and assembler.pending == 0


def test_duplicates_keep_the_first_item() -> None:
    assembler = FrameAssembler(CAMERAS)
    assembler.add_state(TICK, np.full(9, 1.0, np.float32))
    assembler.add_state(TICK, np.full(9, 2.0, np.float32))
    (frame,) = feed(assembler, TICK, "fwa")
    assert frame.state[0] == 1.0 and assembler.counters.duplicates == 1


def test_pending_frames_are_bounded_when_a_stream_stops() -> None:
    assembler = FrameAssembler(CAMERAS, max_pending=8)
    for tick in range(1, 1001):  # the policy never answers: no frame ever completes
        feed(assembler, tick * TICK, "fws")
        assert assembler.pending <= 8
    assert assembler.counters.frames == 0 and assembler.counters.incomplete == 1000 - 8
    assert feed(assembler, 5 * TICK, "a") == []  # evicted long ago: late
    (frame,) = feed(assembler, 1000 * TICK, "a")  # the newest one still completes
    assert frame.stamp_ns == 1000 * TICK


def test_reset_drops_partials_and_sets_the_floor() -> None:
    assembler = FrameAssembler(CAMERAS)
    feed(assembler, 3 * TICK, "fw")
    assembler.reset(floor_ns=10 * TICK)
    assert assembler.pending == 0 and assembler.counters.incomplete == 1
    assert feed(assembler, 10 * TICK) == [] and assembler.counters.late == 4
    assert len(feed(assembler, 11 * TICK)) == 1


def test_assembler_checks_its_arguments() -> None:
    with pytest.raises(ValueError):
        FrameAssembler([])
    with pytest.raises(ValueError):
        FrameAssembler(["front", "front"])
    with pytest.raises(ValueError, match="unknown camera"):
        FrameAssembler(CAMERAS).add_image("side", TICK, image(0))


# --------------------------------------------------------------------------- session


class Sink:
    def __init__(self, capacity: int | None = None) -> None:
        self.frames: list[Frame] = []
        self.capacity = capacity

    def __call__(self, frame: Frame) -> bool:
        if self.capacity is not None and len(self.frames) >= self.capacity:
            return False
        self.frames.append(frame)
        return True


def session(sink: Sink, **kwargs) -> EpisodeSession:
    kwargs.setdefault("keep_outcomes", ["success"])
    return EpisodeSession(CAMERAS, fps=10, sink=sink, **kwargs)


def tick(sess: EpisodeSession, stamp: int, order: str = "fwsa") -> list:
    reports = []
    for kind in order:
        if kind == "f":
            reports += sess.image("front", stamp, image(1))
        elif kind == "w":
            reports += sess.image("wrist", stamp, image(2))
        elif kind == "s":
            reports += sess.state(stamp, np.zeros(9, np.float32))
        else:
            reports += sess.action(stamp, np.zeros(9, np.float32))
    return reports


def test_an_episode_holds_exactly_the_frames_between_its_start_and_end_stamps() -> None:
    sink = Sink()
    sess = session(sink)
    start, end = 50 * TICK, 80 * TICK
    tick(sess, start)  # the tick before the reset: not part of the episode
    assert sess.start("ep1", start, {"seed": 4}) == []
    for t in range(51, 81):
        assert tick(sess, t * TICK) == []
    (report,) = sess.end("ep1", "success", end, now=0.0, info={"outcome": "success"})
    tick(sess, 81 * TICK)  # after the end: ignored
    assert [f.stamp_ns for f in sink.frames] == [t * TICK for t in range(51, 81)]
    assert (report.frames, report.expected_frames, report.missing) == (30, 30, 0)
    assert report.keep and report.reason == "kept"
    assert report.info["seed"] == 4 and report.info["frames_missing"] == 0
    assert not sess.recording and sess.ignored > 0


def test_an_end_event_ahead_of_the_last_frame_waits_for_it_then_the_grace_period_closes() -> None:
    sink = Sink()
    sess = session(sink, end_grace_s=1.0)
    sess.start("ep1", 0)
    tick(sess, TICK)
    tick(sess, 2 * TICK, "fws")  # the action for the last observation is still in flight
    assert sess.end("ep1", "success", 2 * TICK, now=10.0) == []
    (report,) = tick(sess, 2 * TICK, "a")
    assert report.frames == 2 and report.keep

    sess.start("ep2", 2 * TICK)
    tick(sess, 3 * TICK, "fws")  # its action never comes
    assert sess.end("ep2", "success", 3 * TICK, now=20.0) == []
    assert sess.poll(20.5) == []
    (report,) = sess.poll(21.0)
    assert report.frames == 0 and not report.keep and report.reason == "no frames recorded"


def test_outcomes_not_kept_and_incomplete_episodes_are_discarded_with_a_reason() -> None:
    sess = session(Sink(), max_missing_frames=2)
    sess.start("drop", 0)
    for t in range(1, 11):
        tick(sess, t * TICK)
    (report,) = sess.end("drop", "drop", 10 * TICK, now=0.0)
    assert not report.keep and report.reason == "outcome 'drop' is not kept"

    sess.start("late-join", 100 * TICK)  # recorder joined mid-episode: the first 20 frames are missing
    for t in range(121, 131):
        tick(sess, t * TICK)
    (report,) = sess.end("late-join", "success", 130 * TICK, now=0.0)
    assert report.missing == 20 and not report.keep and report.reason.startswith("incomplete")


def test_a_full_writer_queue_counts_as_missing_frames() -> None:
    sess = session(Sink(capacity=5), max_missing_frames=2)
    sess.start("ep", 0)
    for t in range(1, 11):
        tick(sess, t * TICK)
    (report,) = sess.end("ep", "success", 10 * TICK, now=0.0)
    assert report.frames == 5 and report.missing == 5 and not report.keep
    assert report.info["frames_refused"] == 5


def test_unseen_starts_interrupted_episodes_and_replayed_history() -> None:
    sess = session(Sink())
    (report,) = sess.end("ep0", "success", 5 * TICK, now=0.0)  # recorder started after ep0's start
    assert report.episode_id == "ep0" and not report.keep and "start not seen" in report.reason
    sess.start("ep1", 5 * TICK)
    tick(sess, 6 * TICK)
    (report,) = sess.start("ep2", 6 * TICK)  # ep1 never ended (aborted elsewhere)
    assert report.episode_id == "ep1" and not report.keep and "before its end" in report.reason
    (report,) = sess.shutdown()
    assert report.episode_id == "ep2" and "shut down" in report.reason
    assert sess.start("ep1", 5 * TICK) == [] and not sess.recording  # a replayed start of a closed one
    assert sess.end("ep0", "success", 5 * TICK, now=0.0) == []


def test_more_frames_than_control_periods_points_at_fps() -> None:
    sess = EpisodeSession(CAMERAS, fps=5, sink=Sink(), keep_outcomes=["success"])  # robot runs at 10 Hz
    sess.start("ep", 0)
    for t in range(1, 21):
        tick(sess, t * TICK)
    (report,) = sess.end("ep", "success", 20 * TICK, now=0.0)
    assert not report.keep and "fps" in report.reason
