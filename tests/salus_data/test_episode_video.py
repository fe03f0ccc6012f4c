"""salus-episode-video: the recorded predictions drawn on the frames, an MP4 that decodes, a timeline PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from salus_data import episode_video
from salus_data.bag_reader import read_episodes

from .bag_fixtures import DT_NS, Episode, write_bags


def test_video_and_timeline_from_a_bag_with_predictions(tmp_path: Path) -> None:
    import av

    write_bags(
        tmp_path / "bags", [Episode(7, steps=20, vla=True, predictor=True, outcome="drop", onset=1.55)]
    )
    bag = next((tmp_path / "bags").iterdir())
    (episode,) = read_episodes(bag)
    preds = episode.predictions
    assert preds.probabilities.shape == (20, 4, 4) and preds.failure_types[1] == "drop"
    assert preds.alert.tolist() == [0.05 * k >= 0.5 for k in range(1, 21)]  # alert from step 10 on
    assert episode_video.main([str(bag), "--out", str(tmp_path / "out"), "--scale", "4"]) == 0
    (video,) = (tmp_path / "out").glob("*.mp4")
    with av.open(str(video)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 20 and frames[0].shape[1] > 16 * 4  # scaled image + the side panel
    assert (tmp_path / "out" / f"{video.stem}_risk.png").stat().st_size > 1000
    # Before the alert the banner area is not red; once alerted, the panel shows the red ALERT bar.
    early = episode_video.overlay_frame(
        episode.images["front"].values[2], episode, episode.info.start_ns + 3 * DT_NS, 4
    )
    late = episode_video.overlay_frame(
        episode.images["front"].values[15], episode, episode.info.start_ns + 16 * DT_NS, 4
    )

    def red_pixels(img: np.ndarray) -> int:
        panel = img[:, 16 * 4 :]
        return int(np.sum((panel[..., 0] == 200) & (panel[..., 1] == 20) & (panel[..., 2] == 20)))

    assert red_pixels(early) == 0 and red_pixels(late) > 1000


def test_a_bag_without_predictions_still_gives_a_video(tmp_path: Path, capsys) -> None:
    write_bags(tmp_path / "bags", [Episode(3, steps=8)])
    bag = next((tmp_path / "bags").iterdir())
    assert episode_video.main([str(bag), "--out", str(tmp_path / "out")]) == 0
    assert "no predictions recorded" in capsys.readouterr().out
    assert not list((tmp_path / "out").glob("*_risk.png"))
    assert episode_video.main([str(bag), "--camera", "nope"]) == 1


def test_interventions_are_read_and_drawn(tmp_path: Path) -> None:
    write_bags(tmp_path / "bags", [Episode(8, steps=12, vla=True, predictor=True, filter_from=8)])
    (episode,) = read_episodes(next((tmp_path / "bags").iterdir()))
    interventions = episode.interventions
    assert interventions.sources == ("vla",) * 7 + ("manifold",) * 5
    assert len(interventions.stamps_of("manifold")) == 5 and interventions.candidates[-1] == 16
    assert "manifold candidate" in interventions.reasons[-1]

    def orange_pixels(step: int) -> int:
        img = episode_video.overlay_frame(
            episode.images["front"].values[step - 1], episode, episode.info.start_ns + step * DT_NS, 4
        )
        return int(np.sum((img[..., 0] == 230) & (img[..., 1] == 140) & (img[..., 2] == 0)))

    assert orange_pixels(3) == 0 and orange_pixels(10) > 1000  # the FILTER banner once replaced
    assert episode_video.write_timeline(episode, tmp_path / "t.png").stat().st_size > 1000
