"""bag_writer: custom types embedded, one bag per episode, split on events, crash safety. No rclpy, no DDS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

from salus_common.contract import EPISODE_TOPIC, JOINT_STATES_TOPIC, camera_image_topic
from salus_data.bag_reader import find_bags, read_episode_infos, read_episodes
from salus_data.bag_topics import record_topics_yaml, recorder_qos, topic_profile
from salus_data.bag_writer import (
    PARTIAL_PREFIX,
    bag_name,
    header_stamp_ns,
    interface_msg_files,
    partial_dirs,
    remove_stale_partials,
)

from .bag_fixtures import (
    CAMERAS,
    DT_NS,
    Episode,
    episode_messages,
    event_msg,
    image_msg,
    joint_msg,
    make_recorder,
    record,
    state_at,
    write_bags,
)

REPO = Path(__file__).resolve().parents[2]


def test_header_stamp_is_read_from_cdr_bytes() -> None:
    raw = joint_msg(12 * 10**9 + 345, state_at(0))
    assert header_stamp_ns(raw) == 12 * 10**9 + 345
    big_endian = b"\x00\x00\x00\x00" + (7).to_bytes(4, "big") + (9).to_bytes(4, "big")
    assert header_stamp_ns(big_endian) == 7 * 10**9 + 9
    assert header_stamp_ns(b"\x00\x01\x00") is None


def test_custom_types_come_from_the_built_package() -> None:
    names = sorted(p.stem for p in interface_msg_files())
    assert names == [
        "ActionProposal",
        "EpisodeEvent",
        "FailurePrediction",
        "SafetyIntervention",
        "SalusSignals",
    ]


def test_profile_and_ros2_bag_file_agree() -> None:
    profile = topic_profile(CAMERAS)
    overrides = yaml.safe_load(record_topics_yaml(CAMERAS))
    assert list(overrides) == [spec.name for spec in profile]
    for spec in profile:
        assert overrides[spec.name] == recorder_qos(spec).as_override()
    assert overrides[EPISODE_TOPIC]["durability"] == "transient_local"
    assert overrides[camera_image_topic("front")]["reliability"] == "best_effort"
    shipped = REPO / "config" / "record_topics.yaml"
    assert shipped.read_text() == record_topics_yaml(CAMERAS), "regenerate: salus-record-topics --write"


def test_one_bag_per_episode_with_types_and_counts(tmp_path: Path) -> None:
    episodes = [Episode(3, steps=12), Episode(4, steps=8, outcome="drop", onset=0.55, vla=True)]
    closed = write_bags(tmp_path, episodes)
    assert [(c.episode_id, c.saved, c.path.name) for c in closed] == [
        ("ep000003-seed3", True, "seed000003"),
        ("ep000004-seed4", True, "seed000004"),
    ]
    assert find_bags([tmp_path]) == [tmp_path / "seed000003", tmp_path / "seed000004"]
    assert not partial_dirs(tmp_path)

    from rosbags.highlevel import AnyReader

    with AnyReader([tmp_path / "seed000004"]) as reader:
        topics = {c.topic: (c.msgtype, c.msgcount) for c in reader.connections}
        assert topics[EPISODE_TOPIC] == ("salus_msgs/msg/EpisodeEvent", 2)
        # closed as soon as every stream reached the end stamp: exactly the 8 steps
        assert topics["/salus/proposal"] == ("salus_msgs/msg/ActionProposal", 8)
        assert topics["/salus/signals"] == ("salus_msgs/msg/SalusSignals", 8)
        assert topics[JOINT_STATES_TOPIC] == ("sensor_msgs/msg/JointState", 8)
        assert topics[camera_image_topic("front")] == ("sensor_msgs/msg/Image", 8)
        events = [
            reader.deserialize(raw, c.msgtype)
            for c, _t, raw in reader.messages([c for c in reader.connections if c.topic == EPISODE_TOPIC])
        ]
        assert [(e.event, e.outcome) for e in events] == [("start", ""), ("end", "drop")]
        assert events[1].failure_onset_time == pytest.approx(0.55)
    meta = yaml.safe_load((tmp_path / "seed000004" / "metadata.yaml").read_text())[
        "rosbag2_bagfile_information"
    ]
    assert meta["storage_identifier"] == "mcap" and meta["version"] == 9
    assert meta["custom_data"]["salus.episode_id"] == "ep000004-seed4"
    assert meta["custom_data"]["salus.outcome"] == "drop"


def test_the_mcap_tools_see_our_definitions(tmp_path: Path) -> None:
    write_bags(tmp_path, [Episode(1, steps=5, vla=True)])
    from mcap.reader import make_reader

    (mcap_file,) = (tmp_path / "seed000001").glob("*.mcap")
    with mcap_file.open("rb") as stream:
        reader = make_reader(stream)
        summary = reader.get_summary()
        schemas = {s.name: s for s in summary.schemas.values()}
        proposal = schemas["salus_msgs/msg/ActionProposal"]
        assert proposal.encoding == "ros2msg"
        assert b"float32[] mean" in proposal.data and b"std_msgs/Header header" in proposal.data
        assert b"MSG: std_msgs/Header" in proposal.data  # nested definitions embedded too
        counts = {summary.channels[c].topic: n for c, n in summary.statistics.channel_message_counts.items()}
        assert counts["/salus/proposal"] == 5 and counts[EPISODE_TOPIC] == 2
        messages = list(reader.iter_messages(topics=[EPISODE_TOPIC]))
        assert all(channel.message_encoding == "cdr" for _s, channel, _m in messages)


def test_messages_before_the_start_event_join_the_episode_by_stamp(tmp_path: Path) -> None:
    recorder = make_recorder(tmp_path)
    ep = Episode(7, steps=4)
    early = [
        (JOINT_STATES_TOPIC, joint_msg(ep.start_ns, state_at(0))),  # last tick of the previous episode
        (JOINT_STATES_TOPIC, joint_msg(ep.start_ns + DT_NS, state_at(1))),  # first step, arrived first
    ]
    for topic, raw in early:
        assert recorder.message(topic, raw, 0, now=0.0) == []
    messages = [
        m
        for m in episode_messages(ep)
        if not (m[0] == JOINT_STATES_TOPIC and header_stamp_ns(m[1]) == ep.start_ns + DT_NS)
    ]
    closed = []
    for topic, raw in messages:
        closed += recorder.message(topic, raw, 0, now=0.1)
    (episode,) = read_episodes(closed[0].path, images="none")
    assert episode.state.stamps.tolist() == [ep.start_ns + k * DT_NS for k in range(1, 5)]


def test_an_ended_episode_waits_for_its_last_step_then_the_grace_period(tmp_path: Path) -> None:
    recorder = make_recorder(tmp_path, end_grace_s=1.0)
    ep = Episode(2, steps=3)
    messages = episode_messages(ep)
    end_index = next(i for i, (t, raw) in enumerate(messages) if t == EPISODE_TOPIC and i > 0)
    last_step_images = [(camera_image_topic(c), image_msg(ep.end_ns, c, 16)) for c in CAMERAS]
    # The end event arrives before the last step's images (they travel on other topics).
    before = [m for m in messages[: end_index + 1] if m not in last_step_images]
    for topic, raw in before:
        assert recorder.message(topic, raw, 0, now=0.0) == []
    assert recorder.recording and not (tmp_path / "seed000002").exists()
    assert recorder.message(*last_step_images[0], 0, now=0.1) == []
    (closed,) = recorder.message(*last_step_images[1], 0, now=0.2)  # every per-step stream caught up
    assert closed.saved and (tmp_path / "seed000002").is_dir()

    # A stream that stops early (no image for the last step at all): closed by the grace period.
    ep = Episode(5, steps=3, drop_steps=(3, 4))
    for topic, raw in episode_messages(ep):
        if (header_stamp_ns(raw) or 0) <= ep.end_ns:  # nothing of the tick after the end
            recorder.message(topic, raw, 0, now=10.0)
    assert recorder.recording
    assert recorder.poll(now=10.5) == []
    (late,) = recorder.poll(now=11.1)
    assert late.saved and late.seconds == pytest.approx(1.1, abs=0.01)


def test_stop_mid_episode_leaves_no_bag_and_stop_after_end_saves_it(tmp_path: Path) -> None:
    recorder = make_recorder(tmp_path, end_grace_s=5.0)
    messages = episode_messages(Episode(1, steps=6))
    for topic, raw in messages[:10]:
        recorder.message(topic, raw, 0, now=0.0)
    assert partial_dirs(tmp_path)  # the open bag lives in .tmp-<pid>
    (aborted,) = recorder.shutdown(now=0.0)
    assert not aborted.saved and "stopped before the episode ended" in aborted.reason
    assert not partial_dirs(tmp_path) and not find_bags([tmp_path])

    recorder = make_recorder(tmp_path, end_grace_s=5.0)
    end_ns = Episode(1, steps=6).end_ns
    for topic, raw in messages:  # the end event is in, the last step's command is not
        stamp = header_stamp_ns(raw) or 0
        if stamp < end_ns or (stamp == end_ns and topic != "/joint_command"):
            recorder.message(topic, raw, 0, now=0.0)
    assert recorder.recording
    (saved,) = recorder.shutdown(now=0.0)
    assert saved.saved and (tmp_path / "seed000001").is_dir()


def test_end_without_start_and_replayed_history_are_acknowledged_not_saved(tmp_path: Path) -> None:
    recorder = make_recorder(tmp_path)
    (orphan,) = recorder.message(EPISODE_TOPIC, event_msg(10 * DT_NS, "ep9", 9, "end", "success"), 0, 0.0)
    assert not orphan.saved and orphan.episode_id == "ep9" and "start was not seen" in orphan.reason
    # Transient-local history to a late recorder: start and end of a past episode, no data in between.
    recorder.message(EPISODE_TOPIC, event_msg(DT_NS, "ep1", 1, "start"), 0, 0.0)
    assert recorder.message(EPISODE_TOPIC, event_msg(5 * DT_NS, "ep1", 1, "end", "success"), 0, 0.0) == []
    (replayed,) = recorder.poll(now=1.5)  # no per-step stream to wait for: the grace period closes it
    assert not replayed.saved and "no per-step message" in replayed.reason
    assert not find_bags([tmp_path]) and not partial_dirs(tmp_path)


def test_an_episode_joined_late_is_not_saved(tmp_path: Path) -> None:
    """Start and end arrive (transient local) but the first half of the steps never reached the recorder."""
    recorder = make_recorder(tmp_path)
    ep = Episode(6, steps=20)
    closed = []
    for topic, raw in episode_messages(ep):
        stamp = header_stamp_ns(raw) or 0
        if topic == EPISODE_TOPIC or stamp > ep.start_ns + 10 * DT_NS:
            closed += recorder.message(topic, raw, 0, now=0.0)
    (late,) = closed
    assert not late.saved and "incomplete: 10 of 20 control steps" in late.reason
    assert not find_bags([tmp_path]) and not partial_dirs(tmp_path)
    # Two steps lost on every stream (best-effort drops) are tolerated by default.
    recorder = make_recorder(tmp_path)
    ep = Episode(7, steps=20)
    lost = {ep.start_ns + 5 * DT_NS, ep.start_ns + 6 * DT_NS}
    closed = []
    for topic, raw in episode_messages(ep):
        if topic == EPISODE_TOPIC or header_stamp_ns(raw) not in lost:
            closed += recorder.message(topic, raw, 0, now=0.0)
    assert closed[0].saved and closed[0].counts[JOINT_STATES_TOPIC] == 18


def test_recording_a_seed_again_replaces_its_bag(tmp_path: Path) -> None:
    write_bags(tmp_path, [Episode(3, steps=4)])
    write_bags(tmp_path, [Episode(3, steps=6, start_ns=100 * DT_NS)])
    (info,) = read_episode_infos(tmp_path / bag_name(3))
    assert info.start_ns == 100 * DT_NS
    assert [p.name for p in tmp_path.iterdir()] == ["seed000003"]


_KILLED_RECORDER = """
import os, sys, time
sys.path.insert(0, {tests!r})
from salus_common.contract import EPISODE_TOPIC
from bag_fixtures import Episode, episode_messages, make_recorder, record
recorder = make_recorder({bag_dir!r})
record(recorder, [Episode(1, steps=5)])
for topic, raw in episode_messages(Episode(2, steps=50, image_size=64))[:60]:
    recorder.message(topic, raw, 0, now=100.0)
print("open", flush=True)
time.sleep(60)
"""


def test_kill_9_mid_episode_keeps_finished_bags_and_leaves_only_a_hidden_partial(tmp_path: Path) -> None:
    bag_dir = tmp_path / "bags"
    script = _KILLED_RECORDER.format(tests=str(Path(__file__).parent), bag_dir=str(bag_dir))
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline().strip() == "open"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    assert find_bags([bag_dir]) == [bag_dir / "seed000001"]  # the finished episode, nothing else visible
    (episode,) = read_episodes(bag_dir / "seed000001")
    assert len(episode.state.stamps) == 5
    (partial,) = partial_dirs(bag_dir)
    assert partial.name == f"{PARTIAL_PREFIX}{process.pid}" and (partial / "seed000002").is_dir()
    removed = remove_stale_partials(bag_dir)
    assert removed == [partial / "seed000002"] and not partial_dirs(bag_dir)


def test_a_live_recorders_open_bag_is_not_removed(tmp_path: Path) -> None:
    recorder = make_recorder(tmp_path)
    for topic, raw in episode_messages(Episode(1, steps=5))[:6]:
        recorder.message(topic, raw, 0, now=0.0)
    assert remove_stale_partials(tmp_path) == [] and partial_dirs(tmp_path)
    dead = tmp_path / f"{PARTIAL_PREFIX}999999999"
    (dead / "seed000042").mkdir(parents=True)
    assert remove_stale_partials(tmp_path) == [dead / "seed000042"]
    recorder.shutdown(now=0.0)


def test_images_read_back_bit_exact(tmp_path: Path) -> None:
    (closed,) = record(make_recorder(tmp_path), [Episode(8, steps=3, image_size=24)])
    (episode,) = read_episodes(closed.path)
    from .bag_fixtures import image_pixels

    for camera in CAMERAS:
        stream = episode.images[camera]
        for stamp, pixels in zip(stream.stamps, stream.values, strict=True):
            assert np.array_equal(pixels, image_pixels(int(stamp), camera, 24))
