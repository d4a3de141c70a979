"""Turning a user's uploaded file into an image of the pack's shape, or a clear refusal.

Everything a browser can send is handled here: empty or huge files, files that are not images,
truncated images, decompression bombs, animated images, EXIF rotation, palette / grey / alpha
modes, and sizes far from the pack's. Nothing here raises anything but UploadError.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # base64 of it stays under the 20 MB websocket message limit
MAX_PIXELS = 40_000_000
MIN_SIDE = 8
MAX_ASPECT = 8.0


class UploadError(ValueError):
    """An upload cannot be used; the message is shown to the user as it is."""


def describe_size(count: int) -> str:
    """A byte count for people: '2.0 MiB', '300 KiB', '100 bytes'."""
    if count >= 2**20:
        return f"{count / 2**20:.1f} MiB"
    return f"{round(count / 1024)} KiB" if count >= 1024 else f"{count} bytes"


def too_large(name: str, size: int, max_bytes: int) -> str:
    """The message for an upload over the limit."""
    return f"{name} is {describe_size(size)}; the limit here is {describe_size(max_bytes)}. Resize it first."


def image_from_upload(data: bytes | None, filename: str | None, image_shape: tuple[int, int, int],
                      max_bytes: int = MAX_UPLOAD_BYTES) -> np.ndarray:
    """Uploaded bytes -> uint8 (H, W, C) of `image_shape`: centre-cropped, resized, mode-converted.

    The bytes are decoded in memory; nothing is written to disk.
    """
    name = filename or "the upload"
    if not data:
        raise UploadError(f"{name} is empty; choose a PNG, JPEG, GIF or WebP image.")
    if len(data) > max_bytes:
        raise UploadError(too_large(name, len(data), max_bytes))
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise UploadError(f"{name} declares an enormous size (a decompression bomb?); it was refused.") from None
    except UnidentifiedImageError:
        raise UploadError(f"{name} is not an image Pillow can read; choose a PNG, JPEG, GIF or WebP file.") from None
    except Exception as error:  # Pillow raises many kinds for malformed headers
        raise UploadError(f"{name} could not be opened as an image ({type(error).__name__}: {error}).") from None
    width, height = image.size
    # The header alone gives the size: refuse before decoding a single pixel.
    if width * height > MAX_PIXELS:
        raise UploadError(
            f"{name} is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels."
        )
    if min(width, height) < MIN_SIDE:
        raise UploadError(f"{name} is only {width}×{height} pixels; it needs at least {MIN_SIDE} on each side.")
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise UploadError(
            f"{name} is {width}×{height} pixels, too long and thin to crop to a "
            f"{image_shape[1]}×{image_shape[0]} picture; crop it first."
        )
    try:
        image.seek(0)  # the first frame of an animation
        image.load()
        image = ImageOps.exif_transpose(image) or image
    except Image.DecompressionBombError:
        raise UploadError(f"{name} decodes to an enormous image (a decompression bomb?); it was refused.") from None
    except Exception as error:  # truncated data, bad chunks, unsupported codecs
        raise UploadError(f"{name} is damaged or truncated and could not be decoded ({error}).") from None
    try:
        return fit_to_shape(image, image_shape)
    except Exception as error:  # exotic modes (16-bit, CMYK with odd profiles, ...)
        raise UploadError(f"{name} has pixel mode {image.mode!r}, which could not be converted ({error}).") from None


def fit_to_shape(image: Image.Image, image_shape: tuple[int, int, int]) -> np.ndarray:
    """A loaded PIL image -> uint8 (H, W, C): transparency onto white, centre crop, Lanczos resize."""
    height, width, channels = image_shape
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    image = image.convert("L" if channels == 1 else "RGB")
    image = ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)
    array = np.array(image, dtype=np.uint8)  # a writable copy: torch refuses read-only arrays
    return array[:, :, None] if channels == 1 else array
