"""bag_to_zarr + verify_zarr: layout, labels from onsets, NaN policy, bad bags, idempotent reruns."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from salus_data import bag_to_zarr, verify_zarr
from salus_data.bag_to_zarr import ConvertConfig, convert
from salus_data.bag_topics import topic_profile
from salus_data.bag_writer import EpisodeBag

from .bag_fixtures import (
    CAMERAS,
    DT_NS,
    Episode,
    episode_messages,
    image_pixels,
    state_at,
    truncate_bag,
    typestore,
    write_bags,
)

EPISODES = [
    Episode(1, steps=12),  # success, expert (no proposals/signals)
    Episode(2, steps=15, outcome="drop", onset=1.23, vla=True, drop_steps=(4, 5)),
    Episode(3, steps=10, outcome="collision", onset=1.05, start_ns=40 * DT_NS),  # onset after the last step
]


def open_store(path: Path):
    """Plain zarr, consolidated metadata (zarr warns that this is not in the v3 spec yet)."""
    import warnings

    import zarr

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata")
        return zarr.open_consolidated(str(path), mode="r")


@pytest.fixture
def bags(tmp_path: Path) -> Path:
    write_bags(tmp_path / "bags", EPISODES)
    return tmp_path / "bags"


def test_store_layout_opens_with_plain_zarr(bags: Path, tmp_path: Path) -> None:
    report = convert([bags], tmp_path / "out.zarr", log=pytest.fail)
    assert (report.episodes, report.steps, report.errors) == (3, 37, [])
    root = open_store(tmp_path / "out.zarr")
    assert root["meta/episode_ends"][:].tolist() == [12, 27, 37]
    expect = {
        "data/camera_front": ("uint8", (37, 16, 16, 3), (1, 16, 16, 3)),
        "data/camera_wrist": ("uint8", (37, 16, 16, 3), (1, 16, 16, 3)),
        "data/state": ("float32", (37, 9), None),
        "data/action": ("float32", (37, 9), None),
        "data/proposal_mean": ("float32", (37, 9), None),
        "data/proposal_std": ("float32", (37, 9), None),
        "data/signals": ("float32", (37, 12), None),
        "data/labels": ("uint8", (37, 4, 4), None),
        "data/post_onset": ("bool", (37,), None),
        "data/t": ("float64", (37,), None),
    }
    for key, (dtype, shape, chunks) in expect.items():
        array = root[key]
        assert (str(array.dtype), array.shape) == (dtype, shape), key
        if chunks:
            assert array.chunks == chunks
    assert "zstd" in json.dumps(root["data/camera_front"].metadata.to_dict()["codecs"])
    assert root["meta/outcome"][:].tolist() == ["success", "drop", "collision"]
    assert root["meta/failure_type"][:].tolist() == [-1, 1, 0]
    assert root["meta/seed"][:].tolist() == [1, 2, 3]
    assert root["meta/control_rate_hz"][:].tolist() == [10.0, 10.0, 10.0]
    assert json.loads(str(root["meta/perturbation_params_json"][1])) == {"cube_xy": [0.5, 0.0]}
    attrs = dict(root.attrs)
    assert attrs["horizons_s"] == [0.2, 0.3, 0.4, 0.5] and attrs["horizon_steps"] == [2, 3, 4, 5]
    assert attrs["failure_types"] == ["collision", "drop", "timeout", "other"]
    assert attrs["cameras"] == list(CAMERAS) and len(attrs["joint_names"]) == 9
    assert attrs["config"]["converter"]["image_clevel"] == 3
    assert attrs["config"]["recorder"] == [] and attrs["config"]["sources"] == [
        "seed000001",
        "seed000002",
        "seed000003",
    ]


def test_steps_images_and_filled_frames(bags: Path, tmp_path: Path) -> None:
    convert([bags], tmp_path / "out.zarr")
    root = open_store(tmp_path / "out.zarr")
    ep = EPISODES[1]
    sl = slice(12, 27)
    np.testing.assert_allclose(root["data/t"][sl], np.arange(1, 16) * 0.1)
    assert root["data/stamp_ns"][sl].tolist() == [ep.start_ns + k * DT_NS for k in range(1, 16)]
    np.testing.assert_allclose(root["data/state"][sl][3], state_at(4), rtol=1e-6)
    np.testing.assert_allclose(root["data/action"][sl][3], state_at(4) + 0.05, rtol=1e-6)
    front = root["data/camera_front"][sl]
    for k in range(1, 16):
        source = 3 if k in (4, 5) else k  # steps 4 and 5 lost their front image: the step-3 frame is held
        assert np.array_equal(front[k - 1], image_pixels(ep.start_ns + source * DT_NS, "front", 16)), k
    fills = json.loads(str(root["meta/fill_json"][1]))
    assert fills["camera_front"] == 2 and fills["camera_wrist"] == 0 and fills["state"] == 0


def test_nan_placeholders_without_a_vla(bags: Path, tmp_path: Path) -> None:
    convert([bags], tmp_path / "out.zarr")
    root = open_store(tmp_path / "out.zarr")
    assert root["meta/has_proposal"][:].tolist() == [False, True, False]
    assert root["meta/has_signals"][:].tolist() == [False, True, False]
    mean, std, signals = root["data/proposal_mean"][:], root["data/proposal_std"][:], root["data/signals"][:]
    assert np.isnan(mean[:12]).all() and np.isnan(signals[27:]).all() and np.isnan(std[27:]).all()
    np.testing.assert_allclose(mean[12:27], np.arange(9) + np.arange(1, 16)[:, None])
    np.testing.assert_allclose(signals[12:27, 1], np.arange(1, 16))
    for key in ("state", "action", "joint_velocity"):
        assert np.isfinite(root[f"data/{key}"][:]).all()


def test_labels_agree_with_the_episode_events(bags: Path, tmp_path: Path) -> None:
    convert([bags], tmp_path / "out.zarr")
    root = open_store(tmp_path / "out.zarr")
    labels, post = root["data/labels"][:], root["data/post_onset"][:]
    assert labels[:12].sum() == 0 and not post[:12].any()  # success
    drop = labels[12:27, :, 1]  # onset 1.23 s; steps at 0.1 .. 1.5 s
    first = [int(np.flatnonzero(drop[:, h])[0]) for h in range(4)]
    assert first == [10, 9, 8, 7]  # t_s = 1.1, 1.0, 0.9, 0.8: the first t_s with t_s + H >= 1.23
    assert post[12:27].tolist() == [False] * 12 + [True] * 3  # 1.3, 1.4, 1.5 s are past the onset
    assert labels[12:27, :, [0, 2, 3]].sum() == 0
    collision = labels[27:37, :, 0]  # onset 1.05 s, after the last observation (1.0 s)
    assert collision[-2:].all()  # t_s = 0.9, 1.0: the onset is within 0.2 s
    assert collision[-3].tolist() == [0, 1, 1, 1]  # t_s = 0.8: 0.25 s ahead, beyond 0.2 s only
    assert collision[:-5].sum() == 0
    problems, summary = verify_zarr.verify(tmp_path / "out.zarr", all_frames=True)
    assert problems == [], problems
    assert "drop" in summary and "data/camera_front" in summary


def test_truncated_and_corrupted_bags_are_named_and_the_others_convert(
    bags: Path, tmp_path: Path, capsys
) -> None:
    write_bags(bags, [Episode(4, steps=40, image_size=64), Episode(5, steps=40, image_size=64)])
    truncate_bag(bags / "seed000004", 0.6)
    (mcap,) = (bags / "seed000005").glob("*.mcap")
    data = bytearray(mcap.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 64] = b"\xff" * 64  # garbage inside a compressed chunk
    mcap.write_bytes(bytes(data))

    code = bag_to_zarr.main([str(bags), "-o", str(tmp_path / "out.zarr")])
    err = capsys.readouterr().err
    assert code == bag_to_zarr.EXIT_SOME_FAILED
    truncated = next(line for line in err.splitlines() if "seed000004" in line)
    assert str(bags / "seed000004") in truncated and "last good message" in truncated
    assert "header stamp" in truncated and "log time" in truncated  # the last good timestamp
    corrupted = next(line for line in err.splitlines() if "seed000005" in line)
    assert str(bags / "seed000005") in corrupted
    root = open_store(tmp_path / "out.zarr")
    assert root["meta/seed"][:].tolist() == [1, 2, 3]  # the good episodes are all there
    assert verify_zarr.verify(tmp_path / "out.zarr")[0] == []


def test_last_good_timestamp_of_a_truncated_bag(bags: Path) -> None:
    from salus_data.bag_reader import BagReadError, read_episodes

    write_bags(bags, [Episode(6, steps=60, image_size=64)])
    truncate_bag(bags / "seed000006", 0.5)
    with pytest.raises(BagReadError) as caught:
        read_episodes(bags / "seed000006")
    last = caught.value.last_good
    assert caught.value.path == bags / "seed000006"
    assert last is not None and last.messages > 10
    start = Episode(6).start_ns
    assert start < last.stamp_ns < start + 61 * DT_NS  # inside the episode: a real message's stamp


def test_reruns_are_idempotent(bags: Path, tmp_path: Path) -> None:
    import zarr

    out = tmp_path / "out.zarr"
    convert([bags], out)
    first = {k: np.asarray(v[:]) for k, v in _arrays(out)}
    attrs = dict(open_store(out).attrs)
    convert([bags], out, ConvertConfig(workers=2))  # a process pool writes the same store
    second = {k: np.asarray(v[:]) for k, v in _arrays(out)}
    assert first.keys() == second.keys()
    for key in first:
        assert first[key].dtype == second[key].dtype
        assert np.array_equal(first[key], second[key], equal_nan=first[key].dtype.kind == "f"), key
    assert dict(open_store(out).attrs) == attrs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bags", "out.zarr"]  # no temp or old stores
    assert zarr  # plain zarr imported above opens it (open_store)


def _arrays(path: Path):
    root = open_store(path)
    for group in ("data", "meta"):
        for key in root[group].array_keys():
            yield f"{group}/{key}", root[group][key]


def test_a_session_bag_with_several_episodes_splits_by_events(tmp_path: Path) -> None:
    """A bag as `ros2 bag record` writes it: one file, many episodes, the tick messages between them."""
    specs = {s.name: s for s in topic_profile(CAMERAS)}
    bag = EpisodeBag(tmp_path, "session", typestore(), specs)
    for ep in (Episode(11, steps=6), Episode(12, steps=7, outcome="timeout", onset=0.7, start_ns=20 * DT_NS)):
        for topic, raw in episode_messages(ep):
            bag.write(topic, 1, raw)
    bag.commit()
    report = convert([tmp_path / "session"], tmp_path / "out.zarr")
    assert (report.episodes, report.steps) == (2, 13)
    root = open_store(tmp_path / "out.zarr")
    assert root["meta/episode_ends"][:].tolist() == [6, 13]
    assert root["meta/outcome"][:].tolist() == ["success", "timeout"]
    assert verify_zarr.verify(tmp_path / "out.zarr")[0] == []


def test_verify_catches_labels_that_disagree_with_the_onset(bags: Path, tmp_path: Path) -> None:
    import zarr

    out = tmp_path / "out.zarr"
    convert([bags], out)
    shutil.copytree(out, tmp_path / "tampered.zarr")
    labels = zarr.open_array(str(tmp_path / "tampered.zarr" / "data" / "labels"), mode="r+")
    labels[14, 0, 1] = 1  # a positive far before the drop's onset
    problems, _ = verify_zarr.verify(tmp_path / "tampered.zarr")
    assert any("labels disagree" in p and "[1]" in p for p in problems), problems
    assert verify_zarr.main([str(tmp_path / "tampered.zarr")]) == verify_zarr.EXIT_PROBLEMS
    assert verify_zarr.main([str(out)]) == verify_zarr.EXIT_OK


def test_no_bags_is_a_usage_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert (
        bag_to_zarr.main([str(tmp_path / "empty"), "-o", str(tmp_path / "x.zarr")]) == bag_to_zarr.EXIT_USAGE
    )
    assert "no bags found" in capsys.readouterr().err


def test_extended_signals_and_the_prefix_embedding_reach_the_store(tmp_path: Path) -> None:
    from salus_common.names import EXTENDED_SIGNAL_NAMES, SIGNAL_NAMES

    from .bag_fixtures import EMBEDDING_DIM, embedding_at, extended_at

    episodes = [Episode(1, steps=8), Episode(2, steps=10, vla=True, extended=True)]
    write_bags(tmp_path / "bags", episodes)
    convert([tmp_path / "bags"], tmp_path / "out.zarr", ConvertConfig(images=False), log=pytest.fail)
    root = open_store(tmp_path / "out.zarr")
    assert root.attrs["signal_names"] == [*SIGNAL_NAMES, *EXTENDED_SIGNAL_NAMES]
    assert root.attrs["prefix_embedding_dim"] == EMBEDDING_DIM
    signals, embedding = root["data/signals"][:], root["data/prefix_embedding"][:]
    assert signals.shape == (18, 16) and embedding.shape == (18, EMBEDDING_DIM)
    assert embedding.dtype == np.float16
    assert np.isnan(signals[:8]).all() and np.isnan(embedding[:8]).all()  # the expert episode: NaN rows
    for k in range(1, 11):
        np.testing.assert_allclose(signals[7 + k, 12:], extended_at(k), rtol=1e-6)
        np.testing.assert_allclose(embedding[7 + k], embedding_at(k), rtol=1e-3)
    problems, _ = verify_zarr.verify(tmp_path / "out.zarr")
    assert problems == []


def test_bags_recorded_before_the_extended_fields_still_convert(tmp_path: Path) -> None:
    """A bag carries its own message definitions: one written with the 12-signal SalusSignals (before the
    extended fields) reads with today's code, as 12 signals and no embedding."""
    from salus_common.contract import SIGNALS_TOPIC
    from salus_common.names import SIGNAL_NAMES
    from salus_data.bag_writer import EpisodeBagRecorder, interface_msg_files, salus_typestore

    old_dir = tmp_path / "old_msgs"
    old_dir.mkdir()
    for path in interface_msg_files("salus_msgs"):
        text = Path(path).read_text()
        if Path(path).stem == "SalusSignals":
            text = text[: text.index("# Optional extended signals")]
        (old_dir / Path(path).name).write_text(text)
    old_store = salus_typestore(sorted(old_dir.glob("*.msg")))
    assert "extended_values" not in old_store.types["salus_msgs/msg/SalusSignals"].__dataclass_fields__
    header = typestore().types["std_msgs/msg/Header"]
    stamp_type = typestore().types["builtin_interfaces/msg/Time"]

    def old_signals(stamp: int, k: int) -> bytes:
        msg = old_store.types["salus_msgs/msg/SalusSignals"](
            header=header(stamp=stamp_type(sec=stamp // 10**9, nanosec=stamp % 10**9), frame_id=""),
            names=list(SIGNAL_NAMES),
            values=np.arange(12, dtype=np.float32) * k,
            chunk_index=k // 5,
        )
        return bytes(old_store.serialize_cdr(msg, "salus_msgs/msg/SalusSignals"))

    ep = Episode(7, steps=6, vla=True)
    recorder = EpisodeBagRecorder(tmp_path / "bags", topic_profile(CAMERAS), old_store)
    now, k = 0.0, 0
    for topic, raw in episode_messages(ep):
        if topic == SIGNALS_TOPIC:
            k += 1
            raw = old_signals(ep.start_ns + k * DT_NS, k)
        recorder.message(topic, raw, log_ns=0, now=now)
        now += 0.001
    recorder.poll(now + 5.0)
    convert([tmp_path / "bags"], tmp_path / "out.zarr", ConvertConfig(images=False), log=pytest.fail)
    root = open_store(tmp_path / "out.zarr")
    assert root.attrs["signal_names"] == list(SIGNAL_NAMES)
    assert "prefix_embedding" not in set(root["data"].array_keys())
    np.testing.assert_allclose(root["data/signals"][:, 1], np.arange(1, 7))
