"""The one image codec: every supported encoding decodes to the right pixels, everything else is refused."""

from types import SimpleNamespace

import numpy as np
import pytest

from salus_common.image_codec import ENCODINGS, ImageCodecError, decode, encode_rgb8, image_to_rgb8, to_rgb8


def message(encoding: str, pixels: np.ndarray, pad: int = 0, big_endian: bool = False) -> SimpleNamespace:
    """A sensor_msgs/Image-like object holding ``pixels`` with ``pad`` bytes of row padding."""
    height, width = pixels.shape[:2]
    data = (
        pixels.astype(pixels.dtype.newbyteorder(">" if big_endian else "<"))
        .reshape(height, -1)
        .view(np.uint8)
    )
    rows = np.zeros((height, data.shape[1] + pad), np.uint8)
    rows[:, : data.shape[1]] = data
    return SimpleNamespace(
        height=height,
        width=width,
        encoding=encoding,
        step=rows.shape[1],
        data=rows.tobytes(),
        is_bigendian=int(big_endian),
    )


RGB = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 7


@pytest.mark.parametrize("pad", [0, 4])
def test_colour_encodings_decode_to_rgb(pad):
    alpha = np.full((2, 3, 1), 255, np.uint8)
    cases = {
        "rgb8": RGB,
        "bgr8": RGB[..., ::-1],
        "rgba8": np.concatenate([RGB, alpha], axis=2),
        "bgra8": np.concatenate([RGB[..., ::-1], alpha], axis=2),
    }
    for encoding, stored in cases.items():
        np.testing.assert_array_equal(image_to_rgb8(message(encoding, stored, pad)), RGB, err_msg=encoding)


@pytest.mark.parametrize("big_endian", [False, True])
def test_mono_encodings_keep_their_depth_and_replicate_to_rgb(big_endian):
    mono8 = np.array([[0, 10, 200], [30, 40, 255]], np.uint8)
    np.testing.assert_array_equal(decode(**_fields(message("mono8", mono8))), mono8)
    np.testing.assert_array_equal(image_to_rgb8(message("mono8", mono8)), np.repeat(mono8[..., None], 3, 2))
    mono16 = np.array([[0, 256, 65535], [512, 1024, 4096]], np.uint16)
    msg = message("mono16", mono16, big_endian=big_endian)
    decoded = decode(**_fields(msg))
    assert decoded.dtype == np.uint16
    np.testing.assert_array_equal(decoded, mono16)
    np.testing.assert_array_equal(to_rgb8(decoded, "mono16")[..., 0], (mono16 >> 8).astype(np.uint8))


def test_every_supported_encoding_is_tested_here():
    assert set(ENCODINGS) == {"rgb8", "bgr8", "rgba8", "bgra8", "mono8", "mono16"}


@pytest.mark.parametrize(
    ("encoding", "height", "width", "step", "size", "reason"),
    [
        ("yuv422", 2, 3, 6, 12, "bad_encoding"),
        ("32FC1", 2, 3, 12, 24, "bad_encoding"),
        ("rgb8", 2, 3, 9, 10, "bad_size"),
        ("rgb8", 2, 3, 8, 16, "bad_geometry"),
        ("rgb8", 0, 3, 9, 0, "bad_geometry"),
        ("mono16", 2, 3, 5, 10, "bad_geometry"),
    ],
)
def test_bad_images_are_refused_with_a_reason_naming_the_problem(encoding, height, width, step, size, reason):
    with pytest.raises(ImageCodecError) as caught:
        decode(height, width, encoding, step, bytes(size))
    assert caught.value.reason == reason
    if reason == "bad_encoding":
        assert encoding in str(caught.value)


def test_expected_size_is_enforced():
    with pytest.raises(ImageCodecError) as caught:
        image_to_rgb8(message("rgb8", RGB), expected_hw=(4, 4))
    assert caught.value.reason == "unexpected_size"


def test_encode_then_decode_round_trips():
    fields = encode_rgb8(RGB)
    np.testing.assert_array_equal(image_to_rgb8(SimpleNamespace(**fields)), RGB)
    with pytest.raises(ImageCodecError):
        encode_rgb8(RGB[..., 0])


def _fields(msg: SimpleNamespace) -> dict:
    return {k: getattr(msg, k) for k in ("height", "width", "encoding", "step", "data", "is_bigendian")}
