"""Pictures of decoded images: tile grids, J-diagrams, rows of pictures and GIFs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from explorer import imaging


def grey(value: int, shape=(8, 8, 1)) -> np.ndarray:
    return np.full(shape, value, np.uint8)


def test_a_grid_image_places_tiles_with_gaps():
    images = np.stack([np.stack([grey(0), grey(255)])] * 2)  # 2 x 2 tiles
    picture = imaging.grid_image(images, size=10, gap=2)
    assert picture.size == (22, 22)
    assert picture.getpixel((0, 0)) == (0, 0, 0) and picture.getpixel((21, 0)) == (255, 255, 255)


def test_the_j_diagram_puts_each_input_beside_its_corner():
    grid = np.zeros((3, 3, 8, 8, 1), np.uint8)
    inputs = {"a": grey(50), "b": grey(100), "c": grey(150)}
    picture = imaging.jdiagram_figure(grid, inputs, size=10, gap=4)
    margin = 10 + 8
    assert picture.getpixel((4 + 5, margin + 5))[0] == 50  # A left of the top-left corner
    assert picture.getpixel((4 + 5, margin + 30 - 5))[0] == 100  # B left of the bottom-left corner
    assert picture.getpixel((margin + 30 + 4 + 5, margin + 5))[0] == 150  # C right of the top-right corner


def test_a_gif_bounces_forth_and_back():
    frames = [grey(v) for v in (0, 100, 200)]
    gif = Image.open(io.BytesIO(imaging.gif_bytes(frames, 16)))
    assert gif.n_frames == 4 and gif.info["loop"] == 0


def test_side_by_side_puts_images_in_a_row():
    row = imaging.side_by_side([Image.new("RGB", (30, 20)), Image.new("L", (50, 40))])
    assert row.size == (80, 40)


def test_stacked_puts_images_in_a_column_with_gaps():
    column = imaging.stacked([Image.new("RGB", (30, 20)), Image.new("RGB", (50, 40))], gap=8)
    assert column.size == (50, 68) and column.getpixel((0, 24)) == imaging.BACKGROUND


def test_a_decoded_grid_keeps_rows_and_columns():
    latents = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    decode = lambda batch: np.repeat(batch[:, :1, None, None], 5, axis=1).astype(np.uint8)  # noqa: E731
    images = imaging.decode_grid(decode, latents)
    assert images.shape[:2] == (2, 3) and images[1, 2, 0, 0, 0] == latents[1, 2, 0]


def test_side_by_side_refuses_nothing_to_place():
    with pytest.raises(ValueError, match="at least one picture"):
        imaging.side_by_side([])
