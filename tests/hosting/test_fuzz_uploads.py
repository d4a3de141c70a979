"""Fuzzing the upload decoder: any bytes, truncated PNG / JPEG / GIF / WebP, and real images of
any size and mode give an image of exactly the pack's shape or an UploadError, nothing else."""

from __future__ import annotations

import io

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from explorer.app.uploads import MAX_ASPECT, MIN_SIDE, UploadError, image_from_upload

FUZZ = settings(max_examples=150, deadline=None)
SHAPES = st.sampled_from([(16, 16, 1), (28, 28, 1), (64, 64, 3), (8, 12, 3)])
COMMON_MODES = ("1", "L", "LA", "P", "RGB", "RGBA")
EXOTIC_MODES = ("I", "I;16", "F", "CMYK", "YCbCr", "LAB", "HSV", "PA", "La", "RGBa")
FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")
HEADERS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"BM", b"II*\x00")


def decode(data: bytes, shape: tuple[int, int, int]) -> np.ndarray | None:
    """The decoder's answer: an image of `shape`, or None for an UploadError (anything else fails)."""
    try:
        image = image_from_upload(data, "fuzz", shape)
    except UploadError as error:
        assert str(error).startswith("fuzz ")
        return None
    assert image.shape == shape and image.dtype == np.uint8
    return image


def encoded(mode: str, width: int, height: int, fmt: str, seed: int) -> bytes | None:
    """A noisy image in `mode` saved as `fmt`, or None where Pillow cannot write that pair."""
    noise = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    try:
        image = Image.fromarray(noise, "RGB").convert(mode)
        buffer = io.BytesIO()
        image.save(buffer, format=fmt)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return buffer.getvalue()


@FUZZ
@given(data=st.one_of(st.binary(max_size=2000), st.sampled_from(HEADERS).flatmap(
    lambda header: st.binary(max_size=500).map(lambda tail: header + tail))), shape=SHAPES)
def test_arbitrary_bytes_give_the_packs_shape_or_an_upload_error(data, shape):
    decode(data, shape)


@FUZZ
@given(mode=st.sampled_from(COMMON_MODES), fmt=st.sampled_from(FORMATS), side=st.integers(8, 120),
       cut=st.floats(0.0, 0.999), seed=st.integers(0, 2**16), shape=SHAPES)
def test_truncated_images_give_the_packs_shape_or_an_upload_error(mode, fmt, side, cut, seed, shape):
    data = encoded(mode, side, side, fmt, seed)
    assume(data is not None)
    decode(data[: int(len(data) * cut)], shape)


@FUZZ
@given(mode=st.sampled_from(COMMON_MODES), fmt=st.sampled_from(FORMATS), width=st.integers(1, 400),
       height=st.integers(1, 400), seed=st.integers(0, 2**16), shape=SHAPES)
def test_a_real_image_of_any_size_in_a_common_mode_is_fitted_unless_too_small_or_thin(
        mode, fmt, width, height, seed, shape):
    data = encoded(mode, width, height, fmt, seed)
    assume(data is not None)
    image = decode(data, shape)
    usable = min(width, height) >= MIN_SIDE and max(width, height) / min(width, height) <= MAX_ASPECT
    assert (image is not None) == usable


@FUZZ
@given(mode=st.sampled_from(EXOTIC_MODES), fmt=st.sampled_from(FORMATS), width=st.integers(8, 64),
       height=st.integers(8, 64), seed=st.integers(0, 2**16), shape=SHAPES)
def test_an_image_in_an_exotic_mode_gives_the_packs_shape_or_an_upload_error(mode, fmt, width, height, seed, shape):
    data = encoded(mode, width, height, fmt, seed)
    assume(data is not None)
    decode(data, shape)
