"""Pictures made of decoded images, without a browser: tile grids, J-diagrams, labelled strips,
rows and columns of pictures, and PNG / JPEG / GIF bytes.

Pure Pillow + numpy. Images come in as uint8 (H, W, C) arrays (C = 1 or 3); pictures go out as
RGB PIL images or bytes. Charts are not drawn here: see `explorer.charts`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (255, 255, 255)
INK = (40, 40, 40)
FONT_SIZE = 12
# (N, d) float latents -> uint8 (N, H, W, C) images, e.g. a Renderer's decode_images.
Decode = Callable[[np.ndarray], np.ndarray]


@cache
def font(size: int = FONT_SIZE) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans at `size` pixels (it covers ρ and other Greek letters), else Pillow's built-in font."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] (any leading shape) -> uint8, rounding."""
    return (np.clip(np.asarray(images, dtype=np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_pil(image: np.ndarray) -> Image.Image:
    """uint8 (H, W, 1 or 3) -> an RGB PIL image."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    return Image.fromarray(image).convert("RGB")


def tile(image: np.ndarray, size: int) -> Image.Image:
    """One image scaled to size×size: bicubic up, Lanczos down, as the renderer does."""
    pil = to_pil(image)
    if pil.size == (size, size):
        return pil
    method = Image.Resampling.BICUBIC if size > pil.width else Image.Resampling.LANCZOS
    return pil.resize((size, size), method)


def decode_grid(decode: Decode, latents: np.ndarray) -> np.ndarray:
    """(rows, cols, d) latents -> uint8 (rows, cols, H, W, C)."""
    rows, cols, d = np.shape(latents)
    images = decode(np.reshape(latents, (rows * cols, d)))
    return images.reshape(rows, cols, *images.shape[1:])


def grid_image(images: np.ndarray, size: int, gap: int = 0) -> Image.Image:
    """uint8 (rows, cols, H, W, C) -> one picture of size×size tiles with `gap` pixels between."""
    images = np.asarray(images)
    if images.ndim != 5:
        raise ValueError(f"grid images must have shape (rows, cols, H, W, C), got {images.shape}")
    rows, cols = images.shape[:2]
    canvas = Image.new("RGB", (cols * size + (cols - 1) * gap, rows * size + (rows - 1) * gap), BACKGROUND)
    for r in range(rows):
        for c in range(cols):
            canvas.paste(tile(images[r, c], size), (c * (size + gap), r * (size + gap)))
    return canvas


def jdiagram_figure(grid: np.ndarray, inputs: dict[str, np.ndarray | None], size: int, gap: int = 4) -> Image.Image:
    """A J-diagram: the decoded grid (rows, cols, H, W, C) framed by the input images.

    The grid's corners are the reconstructions of A (top left), B (bottom left) and C (top
    right), as `explorer.latent.analogy.j_diagram` lays them out, with B + C - A at the bottom
    right. Inputs A, B, C stand outside their corners, beside their reconstructions.
    """
    inner = grid_image(grid, size, 0)
    margin = size + 2 * gap
    canvas = Image.new("RGB", (inner.width + 2 * margin, inner.height + 2 * margin), BACKGROUND)
    canvas.paste(inner, (margin, margin))
    draw = ImageDraw.Draw(canvas)
    spots = {
        "a": (gap, margin),
        "b": (gap, margin + inner.height - size),
        "c": (margin + inner.width + gap, margin),
    }
    for key, (x, y) in spots.items():
        image = inputs.get(key)
        if image is not None:
            canvas.paste(tile(image, size), (x, y))
        draw.text((x + 2, y - 2), key.upper(), fill=INK, font=font(), anchor="ld")
    x, y = margin + inner.width + gap, margin + inner.height - size
    draw.text((x + 2, y + size // 2), "B+C-A", fill=INK, font=font(), anchor="lm")
    return canvas


def strips_figure(rows: Sequence[tuple[str, np.ndarray]], size: int, gap: int = 2, label_width: int = 56) -> Image.Image:
    """Labelled rows of images, e.g. [("lerp", (n, H, W, C)), ("slerp", ...)]."""
    count = max(len(images) for _, images in rows)
    width = label_width + count * size + (count - 1) * gap
    canvas = Image.new("RGB", (width, len(rows) * (size + gap) - gap), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for r, (label, images) in enumerate(rows):
        y = r * (size + gap)
        draw.text((4, y + size // 2), label, fill=INK, font=font(), anchor="lm")
        canvas.paste(grid_image(np.asarray(images)[None], size, gap), (label_width, y))
    return canvas


def caption(text: str, width: int, height: int = 18) -> Image.Image:
    """A line of text on a white strip `width` pixels wide, to stack over a picture."""
    strip = Image.new("RGB", (width, height), BACKGROUND)
    ImageDraw.Draw(strip).text((2, height // 2), text, fill=INK, font=font(), anchor="lm")
    return strip


def side_by_side(images: Sequence[Image.Image], gap: int = 0) -> Image.Image:
    """Pictures in one row, tops aligned, `gap` pixels apart, on one RGB canvas."""
    if not images:
        raise ValueError("side_by_side needs at least one picture")
    width = sum(i.width for i in images) + gap * (len(images) - 1)
    canvas = Image.new("RGB", (width, max(i.height for i in images)), BACKGROUND)
    x = 0
    for image in images:
        canvas.paste(image.convert("RGB"), (x, 0))
        x += image.width + gap
    return canvas


def stacked(images: Sequence[Image.Image], gap: int = 8) -> Image.Image:
    """Pictures in one column, left edges aligned, `gap` pixels apart."""
    if not images:
        raise ValueError("stacked needs at least one picture")
    height = sum(i.height for i in images) + gap * (len(images) - 1)
    canvas = Image.new("RGB", (max(i.width for i in images), height), BACKGROUND)
    y = 0
    for image in images:
        canvas.paste(image.convert("RGB"), (0, y))
        y += image.height + gap
    return canvas


def png_bytes(image: Image.Image) -> bytes:
    """A PIL image as PNG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    """A PIL image as JPEG bytes."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def gif_bytes(frames: Sequence[np.ndarray], size: int, duration_ms: int = 80, bounce: bool = True) -> bytes:
    """An endlessly looping animated GIF of uint8 frames, played forth and (with bounce) back."""
    if len(frames) == 0:
        raise ValueError("a GIF needs at least one frame")
    pictures = [tile(frame, size) for frame in frames]
    if bounce and len(pictures) > 2:
        pictures = pictures + pictures[-2:0:-1]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=duration_ms, loop=0)
    return buffer.getvalue()
