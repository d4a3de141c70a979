"""Uploads become images of the pack's shape, or a clear UploadError; nothing else escapes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from explorer.app import uploads
from explorer.app.uploads import UploadError, image_from_upload

RGB = (64, 64, 3)
GREY = (16, 16, 1)


def encoded(image: Image.Image, format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def test_an_rgb_photo_is_cropped_and_resized_to_the_pack_shape():
    out = image_from_upload(encoded(Image.new("RGB", (300, 200), (10, 200, 30)), "JPEG"), "photo.jpg", RGB)
    assert out.shape == RGB and out.dtype == np.uint8
    assert abs(int(out[32, 32, 1]) - 200) < 10


def test_a_grey_image_becomes_rgb_for_an_rgb_pack():
    out = image_from_upload(encoded(Image.new("L", (40, 40), 128)), "grey.png", RGB)
    assert out.shape == RGB and np.all(np.abs(out.astype(int) - 128) <= 1)


def test_an_rgb_image_becomes_grey_for_a_grey_pack():
    out = image_from_upload(encoded(Image.new("RGB", (40, 40), (255, 255, 255))), "white.png", GREY)
    assert out.shape == GREY and out.min() == 255


def test_transparency_is_composited_onto_white():
    out = image_from_upload(encoded(Image.new("RGBA", (32, 32), (0, 0, 0, 0))), "clear.png", RGB)
    assert out.min() == 255


def test_a_palette_image_with_transparency_is_composited_onto_white():
    image = Image.new("P", (32, 32), 0)
    image.info["transparency"] = 0
    out = image_from_upload(encoded(image, transparency=0), "palette.png", RGB)
    assert out.min() == 255


def test_an_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (32, 32), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    out = image_from_upload(data, "anim.gif", RGB)
    assert out[..., 0].mean() > 200 and out[..., 2].mean() < 50


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (None, "empty"),
        (b"hello, I am text", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "could not be opened|not an image"),
    ],
)
def test_non_images_are_refused_with_a_clear_message(data, message):
    with pytest.raises(UploadError, match=message):
        image_from_upload(data, "file.png", RGB)


def test_a_truncated_image_is_refused_as_damaged():
    data = encoded(Image.effect_noise((200, 200), 50).convert("RGB"), "JPEG")
    with pytest.raises(UploadError, match="damaged or truncated"):
        image_from_upload(data[: len(data) // 3], "cut.jpg", RGB)


def test_a_decompression_bomb_is_refused_from_its_header(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_PIXELS", 10_000)
    with pytest.raises(UploadError, match="megapixels"):
        image_from_upload(encoded(Image.new("L", (200, 200))), "big.png", RGB)


def test_a_png_declaring_an_enormous_size_is_refused_without_decoding():
    # A 1-bit 30000 x 30000 PNG compresses to a few kB but would decode to 900 megapixels.
    data = encoded(Image.new("1", (30000, 30000)), optimize=True)
    assert len(data) < 2_000_000
    with pytest.raises(UploadError, match="decompression bomb|megapixels"):
        image_from_upload(data, "bomb.png", RGB)


def test_a_file_over_the_byte_limit_is_refused():
    with pytest.raises(UploadError, match="huge.png is 101 bytes; the limit here is 100 bytes"):
        image_from_upload(b"x" * 101, "huge.png", RGB, max_bytes=100)


def test_the_default_byte_limit_is_ten_mib():
    with pytest.raises(UploadError, match=r"huge.png is 10.0 MiB; the limit here is 10.0 MiB"):
        image_from_upload(b"x" * (uploads.MAX_UPLOAD_BYTES + 1), "huge.png", RGB)


def test_a_tiny_image_is_refused():
    with pytest.raises(UploadError, match="at least 8"):
        image_from_upload(encoded(Image.new("RGB", (4, 4))), "tiny.png", RGB)


def test_a_long_thin_image_is_refused():
    with pytest.raises(UploadError, match="too long and thin"):
        image_from_upload(encoded(Image.new("RGB", (1000, 20))), "strip.png", RGB)


def test_a_16_bit_image_is_converted():
    image = Image.fromarray(np.full((20, 20), 40000, np.uint16))
    out = image_from_upload(encoded(image), "deep.png", GREY)
    assert out.shape == GREY
