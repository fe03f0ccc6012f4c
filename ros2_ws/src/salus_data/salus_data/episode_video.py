"""salus-episode-video: an MP4 of a recorded episode with the failure predictor's risk overlaid, and a
risk-timeline PNG, from one bag — for people without rviz.

Usage::

    salus-episode-video data/bags/seed000007       # -> seed000007_<episode>.mp4 and _risk.png beside it
    salus-episode-video data/bags/seed000007 --out runs/videos --camera wrist --scale 4

The overlay is what the operator saw live: the ``/salus/prediction`` messages recorded in the bag (run the
graph with ``record:=bag`` and the predictor on), drawn on each camera frame as the horizons x types grid
coloured by probability, the alert banner when the alert was on, the action filter's interventions
(``/salus/intervention``: a replaced action or a hold, with its reason), the episode time, and the
ground-truth outcome from the onset on. A bag without predictions gives the video with a note and no
timeline.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from salus_common.risk_colors import risk_rgba
from salus_data.bag_reader import BagReadError, EpisodeData, Interventions, Predictions, read_episodes

NS = 1_000_000_000


def prediction_at(predictions: Predictions, stamp: int) -> int | None:
    """Index of the newest prediction stamped at or before ``stamp`` (None before the first)."""
    if predictions.empty:
        return None
    i = int(np.searchsorted(predictions.stamps, stamp, side="right")) - 1
    return i if i >= 0 else None


def intervention_at(interventions: Interventions, stamp: int) -> int | None:
    """Index of the filter's output for this stamp (the latest at or before it), None before the first."""
    if interventions.empty:
        return None
    i = int(np.searchsorted(interventions.stamps, stamp, side="right")) - 1
    return i if i >= 0 else None


INTERVENTION_COLOURS = {"manifold": (230, 140, 0), "hold": (40, 90, 220)}


def overlay_frame(
    frame: np.ndarray,
    episode: EpisodeData,
    stamp: int,
    scale: int,
) -> np.ndarray:
    """One video frame: the camera image scaled up, a side panel with the risk grid, alert and time."""
    from PIL import Image, ImageDraw

    info, preds = episode.info, episode.predictions
    h, w = frame.shape[:2]
    image = Image.fromarray(frame).resize((w * scale, h * scale), Image.NEAREST)
    panel_w = 300
    canvas = Image.new("RGB", (image.width + panel_w, max(image.height, 300)), (30, 30, 34))
    canvas.paste(image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    x0 = image.width + 12
    t = (stamp - info.start_ns) / NS
    draw.text((x0, 8), f"{info.episode_id}  t = {t:5.1f} s", fill=(230, 230, 230))
    i = prediction_at(preds, stamp)
    if i is None:
        draw.text(
            (x0, 30), "no prediction" if not preds.empty else "no predictions recorded", fill=(200, 200, 200)
        )
    else:
        probs = preds.probabilities[i]
        cell = 52
        top = 60
        for k, name in enumerate(preds.failure_types):
            draw.text((x0 + 40 + k * cell, top - 16), name[:8], fill=(220, 220, 220))
        for r, horizon in enumerate(preds.horizons_s):
            y = top + r * cell
            draw.text((x0, y + 14), f"{horizon * 1000:.0f}ms", fill=(220, 220, 220))
            for k in range(len(preds.failure_types)):
                red, green, blue, _ = risk_rgba(probs[r, k])
                box = (x0 + 40 + k * cell, y, x0 + 40 + k * cell + cell - 4, y + cell - 4)
                draw.rectangle(box, fill=(int(255 * red), int(255 * green), int(255 * blue)))
                draw.text((box[0] + 8, box[1] + 14), f"{probs[r, k]:.2f}", fill=(0, 0, 0))
        risk = float(probs.max())
        y = top + len(preds.horizons_s) * cell + 10
        if preds.alert[i]:
            draw.rectangle((x0 - 4, y, x0 + 280, y + 24), fill=(200, 20, 20))
            draw.text(
                (x0 + 4, y + 6), f"ALERT  risk {risk:.2f} >= {preds.threshold[i]:.2f}", fill=(255, 255, 255)
            )
        else:
            draw.text((x0 + 4, y + 6), f"risk {risk:.2f} < {preds.threshold[i]:.2f}", fill=(150, 230, 150))
    j = intervention_at(episode.interventions, stamp)
    if j is not None and episode.interventions.sources[j] in INTERVENTION_COLOURS:
        source = episode.interventions.sources[j]
        y = canvas.height - 44
        draw.rectangle((x0 - 4, y, x0 + 280, y + 36), fill=INTERVENTION_COLOURS[source])
        label = "FILTER: manifold action" if source == "manifold" else "FILTER: holding"
        draw.text((x0 + 4, y + 4), label, fill=(255, 255, 255))
        draw.text((x0 + 4, y + 20), episode.interventions.reasons[j][:44], fill=(255, 255, 255))
    onset = info.failure_onset_s
    if math.isfinite(onset) and t >= onset:
        draw.rectangle((0, 0, image.width, 22), fill=(120, 0, 120))
        draw.text((6, 5), f"FAILURE: {info.outcome} (onset {onset:.2f} s)", fill=(255, 255, 255))
    elif t >= info.duration_s - 0.05 and info.outcome == "success":
        draw.rectangle((0, 0, image.width, 22), fill=(0, 110, 0))
        draw.text((6, 5), "SUCCESS", fill=(255, 255, 255))
    return np.asarray(canvas)


def write_video(episode: EpisodeData, camera: str, path: Path, scale: int = 3, fps: float = 10.0) -> int:
    """Encode the episode's frames of ``camera`` with the overlay; returns the number of frames."""
    import av

    stream_frames = episode.images.get(camera)
    if stream_frames is None or stream_frames.empty:
        raise ValueError(
            f"{episode.info.episode_id}: no '{camera}' frames (cameras: {list(episode.cameras)})"
        )
    first = overlay_frame(stream_frames.values[0], episode, int(stream_frames.stamps[0]), scale)
    height, width = (first.shape[0] // 2) * 2, (first.shape[1] // 2) * 2  # yuv420p needs even sizes
    with av.open(str(path), mode="w") as container:
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        video = container.add_stream(codec, rate=round(fps))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        for stamp, frame in zip(stream_frames.stamps, stream_frames.values, strict=True):
            rgb = overlay_frame(frame, episode, int(stamp), scale)[:height, :width]
            for packet in video.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
    return len(stream_frames.stamps)


def write_timeline(episode: EpisodeData, path: Path) -> Path:
    """Risk over time: max_risk, each type at the longest horizon, the threshold, alerts, the onset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    info, preds = episode.info, episode.predictions
    t = (preds.stamps - info.start_ns) / NS
    fig, ax = plt.subplots(figsize=(10, 3.2))
    ax.plot(t, preds.probabilities.reshape(len(t), -1).max(axis=1), color="black", lw=1.8, label="max_risk")
    for k, name in enumerate(preds.failure_types):
        ax.plot(t, preds.probabilities[:, -1, k], lw=0.9, label=f"{name} ({preds.horizons_s[-1]:g} s)")
    ax.step(t, preds.threshold, where="post", color="red", ls="--", lw=1, label="threshold")
    if preds.alert.any():
        ax.fill_between(t, 0, 1, where=preds.alert, step="post", color="red", alpha=0.12, label="alert")
    for source, colour in INTERVENTION_COLOURS.items():
        stamps = episode.interventions.stamps_of(source)
        if len(stamps):
            ts = (stamps - info.start_ns) / NS
            ax.plot(ts, np.full(len(ts), -0.01), "|", color=np.array(colour) / 255, ms=10, label=source)
    if math.isfinite(info.failure_onset_s):
        ax.axvline(info.failure_onset_s, color="purple", lw=1.5, label=f"onset ({info.outcome})")
    ax.set(xlabel="time since episode start [s]", ylabel="P", ylim=(-0.02, 1.02))
    ax.set_title(
        f"{info.episode_id} seed {info.seed} [{','.join(info.perturbations) or 'none'}]: {info.outcome}"
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=4, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="salus-episode-video", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bag", type=Path, help="an episode bag folder or .mcap file")
    parser.add_argument("--out", type=Path, help="output folder (default: beside the bag)")
    parser.add_argument("--camera", default="front", help="camera to show (default front)")
    parser.add_argument("--episode", help="episode id (default: every episode of the bag)")
    parser.add_argument("--scale", type=int, default=3, help="image upscaling factor (default 3)")
    parser.add_argument("--fps", type=float, default=10.0, help="frames per second (default: 10, real time)")
    args = parser.parse_args(argv)
    if not 1 <= args.scale <= 8:
        print("salus-episode-video: error: --scale must be 1..8", file=sys.stderr)
        return 2
    try:
        episodes = read_episodes(
            args.bag, cameras=[args.camera], episode_ids=[args.episode] if args.episode else None
        )
    except (BagReadError, FileNotFoundError) as err:
        print(f"salus-episode-video: error: {err}", file=sys.stderr)
        return 1
    if not episodes:
        print(f"salus-episode-video: error: no episode {args.episode!r} in {args.bag}", file=sys.stderr)
        return 1
    out = args.out or args.bag.parent
    out.mkdir(parents=True, exist_ok=True)
    stem = args.bag.stem if args.bag.is_file() else args.bag.name
    for episode in episodes:
        base = out / f"{stem}_{episode.info.episode_id}"
        try:
            frames = write_video(episode, args.camera, base.with_suffix(".mp4"), args.scale, args.fps)
        except ValueError as err:
            print(f"salus-episode-video: error: {err}", file=sys.stderr)
            return 1
        line = f"{base.with_suffix('.mp4')}: {frames} frames, {episode.info.outcome}"
        if episode.predictions.empty:
            line += " (no predictions recorded: run the graph with the predictor and record:=bag)"
        else:
            write_timeline(episode, Path(f"{base}_risk.png"))
            line += f", {len(episode.predictions.stamps)} predictions; timeline {base}_risk.png"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
