"""salus-verify-zarr: check a store written by salus-bag2zarr and print a summary table.

Usage::

    salus-verify-zarr data/episodes.zarr
    salus-verify-zarr data/episodes.zarr --all-frames     # also decode every image frame

Opens the store with plain ``zarr`` (consolidated metadata) and checks: every expected key is there with
the documented dtype, shape and chunks; ``meta/episode_ends`` is strictly increasing and ends at the
length of every ``data/*`` array; every ``meta/*`` array has one entry per episode; no NaN or inf outside
the keys allowed to hold NaN rows (proposals, signals; and those only as whole rows, all rows where the
episode has none); labels are 0/1 and equal the labels recomputed from ``meta/failure_type``,
``meta/failure_onset_s``, ``meta/control_rate_hz`` and ``data/t`` (horizon_labels.py), which also makes
them consistent with the episode events they came from; one frame per episode decodes.

Exit codes: 0 all good, 1 problems found (listed), 2 the store cannot be opened.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from salus_data.horizon_labels import horizon_labels
from salus_data.zarr_layout import FORMAT, META_DTYPES, PREFIX_EMBEDDING_KEY, image_key

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
FINITE_KEYS = ("state", "joint_velocity", "action", "t")
NAN_ROW_KEYS = {"proposal_mean": "has_proposal", "proposal_std": "has_proposal", "signals": "has_signals"}
META_KEYS = {key: dtype for key, dtype in META_DTYPES.items() if key != "episode_ends"}  # checked first


def open_store(path: str | Path):
    import zarr

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata")
        return zarr.open_consolidated(str(path), mode="r")


def _dtype_name(array: Any) -> str:
    dtype = array.dtype
    if getattr(dtype, "kind", "") in ("T", "U", "O") or "String" in type(dtype).__name__:
        return "str"
    return str(np.dtype(dtype))


def verify(path: str | Path, all_frames: bool = False) -> tuple[list[str], str]:
    """(problems, summary table) of the store at ``path``; raises OSError/KeyError if it cannot open."""
    root = open_store(path)
    problems: list[str] = []
    attrs = dict(root.attrs)
    cameras = list(attrs.get("cameras", []))
    joints = list(attrs.get("joint_names", []))
    signal_names = list(attrs.get("signal_names", []))
    failure_types = list(attrs.get("failure_types", []))
    horizons = list(attrs.get("horizons_s", []))
    if attrs.get("format") != FORMAT:
        problems.append(f"root attribute format is {attrs.get('format')!r}, expected {FORMAT!r}")
    if "config" not in attrs:
        problems.append("no config snapshot in the root attributes")
    ends = np.asarray(root["meta/episode_ends"][:])
    episodes = ends.size
    total = int(ends[-1]) if episodes else 0
    if ends.dtype != np.int64:
        problems.append(f"meta/episode_ends is {ends.dtype}, expected int64")
    if episodes == 0 or np.any(np.diff(np.concatenate([[0], ends])) <= 0):
        problems.append("meta/episode_ends must be strictly increasing and start above 0")
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)

    expected: dict[str, tuple[str, tuple[int, ...]]] = {
        "state": ("float32", (total, len(joints))),
        "joint_velocity": ("float32", (total, len(joints))),
        "action": ("float32", (total, len(joints))),
        "proposal_mean": ("float32", (total, len(joints))),
        "proposal_std": ("float32", (total, len(joints))),
        "signals": ("float32", (total, len(signal_names))),
        "labels": ("uint8", (total, len(horizons), len(failure_types))),
        "post_onset": ("bool", (total,)),
        "t": ("float64", (total,)),
        "stamp_ns": ("int64", (total,)),
    }
    data = root["data"]
    present = set(data.array_keys())
    nan_row_keys = dict(NAN_ROW_KEYS)
    embedding_dim = int(attrs.get("prefix_embedding_dim") or 0)
    if embedding_dim or PREFIX_EMBEDDING_KEY in present:
        expected[PREFIX_EMBEDDING_KEY] = ("float16", (total, embedding_dim))
        nan_row_keys[PREFIX_EMBEDDING_KEY] = "has_signals"
    for key, (dtype, shape) in expected.items():
        if key not in present:
            problems.append(f"data/{key} is missing")
            continue
        array = data[key]
        if _dtype_name(array) != dtype or tuple(array.shape) != shape:
            problems.append(
                f"data/{key} is {_dtype_name(array)} {tuple(array.shape)}, expected {dtype} {shape}"
            )
    image_shapes = {}
    for camera in cameras:
        key = image_key(camera)
        if key not in present:
            problems.append(f"data/{key} is missing (attrs list camera {camera!r})")
            continue
        array = data[key]
        shape = tuple(array.shape)
        image_shapes[camera] = shape
        if _dtype_name(array) != "uint8" or len(shape) != 4 or shape[0] != total or shape[3] != 3:
            problems.append(f"data/{key} is {_dtype_name(array)} {shape}, expected uint8 ({total}, H, W, 3)")
        if tuple(array.chunks) != (1, *shape[1:]):
            problems.append(f"data/{key} chunks are {array.chunks}, expected one frame per chunk")
    extra = present - set(expected) - {image_key(c) for c in cameras}
    if extra:
        problems.append(f"unexpected data keys {sorted(extra)}")

    meta = root["meta"]
    values: dict[str, np.ndarray] = {}
    for key, dtype in META_KEYS.items():
        if key not in set(meta.array_keys()):
            problems.append(f"meta/{key} is missing")
            continue
        array = meta[key]
        values[key] = np.asarray(array[:])
        if _dtype_name(array) != dtype or array.shape != (episodes,):
            problems.append(
                f"meta/{key} is {_dtype_name(array)} {array.shape}, expected {dtype} ({episodes},)"
            )
    if problems:  # the rest needs a well-formed store
        return problems, ""

    for key in FINITE_KEYS:
        array = np.asarray(data[key][:])
        bad = np.flatnonzero(~np.isfinite(array).reshape(total, -1).all(axis=1))
        if bad.size:
            problems.append(f"data/{key}: {bad.size} steps with NaN/inf (first at step {bad[0]})")
    nan_rows: dict[str, int] = {}
    for key, flag in nan_row_keys.items():
        array = np.asarray(data[key][:]).reshape(total, -1)
        finite = np.isfinite(array)
        partial = np.flatnonzero(finite.any(axis=1) & ~finite.all(axis=1))
        if partial.size:
            problems.append(
                f"data/{key}: {partial.size} rows mix NaN and numbers (first at step {partial[0]})"
            )
        missing = ~finite.all(axis=1)
        nan_rows[key] = int(missing.sum())
        for e in range(episodes):
            rows = missing[starts[e] : ends[e]]
            if not values[flag][e] and not rows.all():
                problems.append(f"episode {e}: meta/{flag} is false but data/{key} has values")
            if values[flag][e] and rows.all():
                problems.append(f"episode {e}: meta/{flag} is true but data/{key} is all NaN")

    labels = np.asarray(data["labels"][:])
    post_onset = np.asarray(data["post_onset"][:])
    t = np.asarray(data["t"][:])
    if not np.isin(labels, (0, 1)).all():
        problems.append("data/labels holds values other than 0 and 1")
    mismatched = []
    for e in range(episodes):
        sl = slice(starts[e], ends[e])
        failure = int(values["failure_type"][e])
        onset = float(values["failure_onset_s"][e])
        outcome = str(values["outcome"][e])
        if (failure >= 0) != (outcome in failure_types) or (
            failure >= 0 and failure_types[failure] != outcome
        ):
            problems.append(f"episode {e}: failure_type {failure} does not match outcome {outcome!r}")
            continue
        if failure >= 0 and not (math.isfinite(onset) and 0.0 <= onset <= values["duration_s"][e] + 1e-6):
            problems.append(f"episode {e}: failure onset {onset} outside [0, duration]")
            continue
        times = np.round(t[sl] * 1e9).astype(np.int64)
        want, want_post = horizon_labels(
            times,
            onset if failure >= 0 else None,
            failure if failure >= 0 else None,
            horizons,
            float(values["control_rate_hz"][e]),
            len(failure_types),
        )
        if not np.array_equal(want, labels[sl]) or not np.array_equal(want_post, post_onset[sl]):
            mismatched.append(e)
        if np.any(np.diff(t[sl]) <= 0):
            problems.append(f"episode {e}: data/t is not increasing")
    if mismatched:
        problems.append(f"labels disagree with the episodes' onsets in episodes {mismatched[:10]}")

    frames_checked = 0
    for camera in cameras:
        array = data[image_key(camera)]
        indices = range(total) if all_frames else [int(s) for s in starts]
        for index in indices:
            frame = np.asarray(array[index])
            frames_checked += 1
            if frame.max() == frame.min():
                problems.append(f"data/{image_key(camera)} frame {index} is blank (one value)")
                break
    return problems, _summary(root, values, ends, starts, failure_types, nan_rows, frames_checked)


def _summary(
    root: Any,
    values: dict[str, np.ndarray],
    ends: np.ndarray,
    starts: np.ndarray,
    failure_types: Sequence[str],
    nan_rows: dict[str, int],
    frames_checked: int,
) -> str:
    lengths = ends - starts
    lines = [f"{root.store}: {ends.size} episodes, {int(ends[-1])} steps", ""]
    lines.append(f"{'outcome':<10} {'episodes':>8} {'steps':>8} {'mean s':>7} {'onset s':>8} {'vla':>5}")
    lines.append("-" * 52)
    for outcome in ("success", *failure_types):
        mask = values["outcome"] == outcome
        if not mask.any():
            lines.append(f"{outcome:<10} {0:>8} {'-':>8} {'-':>7} {'-':>8} {'-':>5}")
            continue
        onsets = values["failure_onset_s"][mask]
        onset = f"{np.nanmean(onsets):.2f}" if np.isfinite(onsets).any() else "-"
        lines.append(
            f"{outcome:<10} {int(mask.sum()):>8} {int(lengths[mask].sum()):>8} "
            f"{values['duration_s'][mask].mean():>7.2f} {onset:>8} "
            f"{int(values['has_proposal'][mask].sum()):>5}"
        )
    scenarios: dict[str, int] = {}
    for text in values["metadata_json"]:
        scenario = json.loads(str(text) or "{}").get("scenario")
        if scenario:
            scenarios[scenario] = scenarios.get(scenario, 0) + 1
    if scenarios:
        lines.append("scenarios: " + ", ".join(f"{k} {v}" for k, v in sorted(scenarios.items())))
    lines += ["", f"{'key':<31} {'dtype':<8} {'shape':<22} {'chunks':<20} {'stored MiB':>10}", "-" * 95]
    for group in ("data", "meta"):
        for key in sorted(root[group].array_keys()):
            array = root[group][key]
            stored = array.nbytes_stored() / 2**20
            lines.append(
                f"{group + '/' + key:<31} {_dtype_name(array):<8} {str(tuple(array.shape)):<22} "
                f"{str(tuple(array.chunks)):<20} {stored:>10.2f}"
            )
    nan_text = ", ".join(f"{k} {v}" for k, v in nan_rows.items())
    lines += [
        "",
        f"NaN rows (allowed, no message at that step): {nan_text}; image frames decoded: {frames_checked}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="salus-verify-zarr", description="Check a salus-bag2zarr store.")
    parser.add_argument("store", type=Path)
    parser.add_argument(
        "--all-frames", action="store_true", help="decode every image frame, not one per episode"
    )
    opts = parser.parse_args(argv)
    try:
        problems, summary = verify(opts.store, opts.all_frames)
    except (OSError, KeyError, ValueError) as err:
        print(f"salus-verify-zarr: error: cannot open {opts.store} as a SALUS store: {err}", file=sys.stderr)
        return EXIT_USAGE
    if summary:
        print(summary)
    if problems:
        print(f"\nsalus-verify-zarr: {len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_PROBLEMS
    print("\nverified: shapes, dtypes, finite values, NaN policy and horizon labels are consistent")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
