"""The paper's figures (White 2016) as pictures, for `latent-explorer export` and the app's downloads:
J-diagram, MINE grid, lerp / slerp paths, attribute traversal and AtDot judgement.

Each takes `decode`: float (N, d) latents -> uint8 (N, H, W, C) images (a Renderer's
decode_images). Charts in a figure are the page's own (`explorer.charts`), rendered to PNG.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from explorer import charts
from explorer.imaging import (
    Decode,
    caption,
    decode_grid,
    grid_image,
    jdiagram_figure,
    side_by_side,
    stacked,
    strips_figure,
)


def jdiagram(decode: Decode, a: np.ndarray, b: np.ndarray, c: np.ndarray, size: int, tile: int,
             inputs: dict[str, np.ndarray | None] | None = None) -> Image.Image:
    """White 2016's J-diagram for corners a, b, c (size × size), inputs beside their corners."""
    from explorer.latent.analogy import j_diagram

    return jdiagram_figure(decode_grid(decode, j_diagram(a, b, c, size, size)), inputs or {}, tile)


def mine(decode: Decode, centre: np.ndarray, neighbours: np.ndarray, size: int, tile: int) -> Image.Image:
    """A MINE grid: `neighbours` laid out around `centre` on a size × size grid, gaps interpolated."""
    from explorer.latent.grids import mine_grid

    return grid_image(decode_grid(decode, mine_grid(centre, neighbours, size, size).latents), tile, 2)


def paths(decode: Decode, a: np.ndarray, b: np.ndarray, steps: int, tile: int, typical_norm: float) -> Image.Image:
    """lerp and slerp strips from a to b over the chart of their latent norms (the tent-pole)."""
    from explorer.latent.interpolate import lerp, path_norms, slerp

    t = np.linspace(0.0, 1.0, steps)
    strips = strips_figure([("lerp", decode(lerp(a, b, t))), ("slerp", decode(slerp(a, b, t)))], tile)
    plot = charts.picture(charts.norm_plot({**path_norms(a, b), "expected": typical_norm}),
                          (max(strips.width, 480), 280))
    return stacked([strips, plot])


def traversal(decode: Decode, starts: np.ndarray, vector: np.ndarray, strengths: np.ndarray, tile: int,
              label: str = "") -> Image.Image:
    """Each start latent (a row) moved along `vector` by each strength (a column)."""
    moved = np.asarray(starts)[:, None, :] + np.asarray(strengths)[None, :, None] * np.asarray(vector)[None, None, :]
    grid = grid_image(decode_grid(decode, moved), tile, 2)
    if not label:
        return grid
    text = f"{label}: strength {strengths[0]:+.1f} (left) to {strengths[-1]:+.1f} (right)"
    return stacked([caption(text, grid.width), grid], gap=2)


def atdot(result: dict) -> Image.Image:
    """An AtDot judgement (from `judge_attribute`): the page's score histogram with its threshold, and the ROC."""
    return side_by_side([charts.picture(charts.atdot_histogram(result), (560, 320)),
                         charts.picture(charts.roc_plot(result), (320, 320))], gap=8)
