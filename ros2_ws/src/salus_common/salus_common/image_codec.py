"""``sensor_msgs/Image`` <-> numpy without cv_bridge (not installable from pip), with input validation.

One codec for every reader of images (policies, recorders, exports): rgb8, bgr8, rgba8, bgra8, mono8 and
mono16 decode; anything else raises :class:`ImageCodecError` naming the encoding. Works on rclpy messages,
rosbags messages, or the plain fields. Pure numpy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from salus_common.rejection import InputRejectedError

# encoding -> (channels, dtype); colour layouts are converted to RGB by to_rgb8.
ENCODINGS: dict[str, tuple[int, np.dtype]] = {
    "rgb8": (3, np.dtype(np.uint8)),
    "bgr8": (3, np.dtype(np.uint8)),
    "rgba8": (4, np.dtype(np.uint8)),
    "bgra8": (4, np.dtype(np.uint8)),
    "mono8": (1, np.dtype(np.uint8)),
    "mono16": (1, np.dtype(np.uint16)),
}
RGB8 = "rgb8"


class ImageCodecError(InputRejectedError):
    """An image that cannot be decoded; ``reason`` is a short, stable key for counting."""


def decode(
    height: int,
    width: int,
    encoding: str,
    step: int,
    data: bytes | bytearray | memoryview | Sequence[int] | Iterable[int],
    is_bigendian: int = 0,
    expected_hw: tuple[int, int] | None = None,
) -> np.ndarray:
    """Pixels as stored: (H, W, C) for colour, (H, W) for mono; row padding removed; a copy.

    Reasons: ``bad_encoding``, ``bad_geometry`` (empty, or ``step`` shorter than a row), ``bad_size``
    (``data`` is not ``step * height`` bytes), ``unexpected_size`` (not ``expected_hw``).
    """
    if encoding not in ENCODINGS:
        raise ImageCodecError(
            "bad_encoding", f"unsupported encoding {encoding!r}; want one of {list(ENCODINGS)}"
        )
    channels, dtype = ENCODINGS[encoding]
    height, width, step = int(height), int(width), int(step)
    row = width * channels * dtype.itemsize
    if height <= 0 or width <= 0 or step < row:
        raise ImageCodecError("bad_geometry", f"{width}x{height} with step {step} for {encoding}")
    if expected_hw is not None and (height, width) != tuple(expected_hw):
        raise ImageCodecError(
            "unexpected_size", f"image is {width}x{height}, expected {expected_hw[1]}x{expected_hw[0]}"
        )
    try:  # bytes, array.array('B') (what rclpy hands over), memoryview: no copy yet
        buffer = np.frombuffer(data, dtype=np.uint8)
    except TypeError:  # a plain list of ints
        buffer = np.asarray(list(data), dtype=np.uint8)
    if buffer.size != step * height:
        raise ImageCodecError("bad_size", f"{buffer.size} bytes, expected step*height = {step * height}")
    rows = buffer.reshape(height, step)[:, :row]
    order = ">" if is_bigendian else "<"
    pixels = np.ascontiguousarray(rows).view(dtype.newbyteorder(order)).astype(dtype, copy=False)
    shape = (height, width) if channels == 1 else (height, width, channels)
    return pixels.reshape(shape).copy()


def to_rgb8(pixels: np.ndarray, encoding: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of decoded pixels: channels reordered, alpha dropped, mono replicated.

    mono16 keeps its 8 most significant bits (a display conversion, like cv_bridge's to ``rgb8``).
    """
    if encoding not in ENCODINGS:
        raise ImageCodecError(
            "bad_encoding", f"unsupported encoding {encoding!r}; want one of {list(ENCODINGS)}"
        )
    if encoding == "mono16":
        pixels = (pixels >> 8).astype(np.uint8)
    if encoding.startswith("mono"):
        return np.repeat(pixels[..., None], 3, axis=2)
    if encoding.startswith("bgr"):
        pixels = pixels[..., 2::-1]
    return np.ascontiguousarray(pixels[..., :3])


def image_to_rgb8(msg: Any, expected_hw: tuple[int, int] | None = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image message (rclpy or rosbags), any supported encoding."""
    pixels = decode(
        msg.height,
        msg.width,
        msg.encoding,
        msg.step,
        msg.data,
        getattr(msg, "is_bigendian", 0),
        expected_hw,
    )
    return to_rgb8(pixels, msg.encoding)


def encode_rgb8(pixels: np.ndarray) -> dict[str, Any]:
    """The ``sensor_msgs/Image`` fields (no header) of an (H, W, 3) uint8 RGB array."""
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ImageCodecError("bad_shape", f"want (H, W, 3) uint8, got {pixels.shape} {pixels.dtype}")
    height, width, _ = pixels.shape
    return {
        "height": height,
        "width": width,
        "encoding": RGB8,
        "is_bigendian": 0,  # 8-bit data has no byte order
        "step": width * 3,
        "data": np.ascontiguousarray(pixels).tobytes(),
    }
