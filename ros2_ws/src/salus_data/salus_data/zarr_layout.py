"""The SALUS Zarr store's names, shared by the writer (``salus-bag2zarr``) and the checker
(``salus-verify-zarr``): the format tag, the image keys and the per-episode ``meta/*`` arrays with their
dtypes. Pure Python (imports no zarr); docs/RECORDING.md describes every key.
"""

from __future__ import annotations

FORMAT = "salus-replay-buffer"
FORMAT_VERSION = 1
IMAGE_PREFIX = "camera_"
# data/<key> of the VLA's prefix embedding (float16, NaN rows where none): only in stores of episodes that
# were recorded with the extended signals on.
PREFIX_EMBEDDING_KEY = "prefix_embedding"

# meta/<key>: one entry per episode; "str" is zarr's variable-length string dtype.
META_DTYPES: dict[str, str] = {
    "episode_ends": "int64",  # exclusive end index of each episode in data/*
    "episode_id": "str",
    "seed": "int64",
    "outcome": "str",
    "failure_type": "int8",  # index into the root attribute failure_types; -1 for success
    "failure_onset_s": "float64",  # NaN for success
    "duration_s": "float64",
    "perturbations": "str",  # JSON list
    "perturbation_params_json": "str",
    "control_rate_hz": "float64",
    "has_proposal": "bool",
    "has_signals": "bool",
    "bag": "str",
    "metadata_json": "str",
    "fill_json": "str",
}


def image_key(camera: str) -> str:
    """The ``data/`` key of a camera's frames, e.g. ``front`` -> ``camera_front``."""
    return f"{IMAGE_PREFIX}{camera}"
