"""A 2-D map of a latent set and what a user does on it: the nearest point to a click, the points
inside a lasso, and the grid cells of the map (for the atlas of decoded cell means). Numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from explorer.latent import _validate
from explorer.latent.directions import principal_directions


def pca_2d(latents: ArrayLike) -> np.ndarray:
    """(N, 2) coordinates of latents (N, d) on their two principal directions (centred)."""
    latents = _validate.nonempty("latents", _validate.latents("latents", latents, ndim=2))
    if latents.shape[1] < 2:
        raise ValueError(f"a 2-D map needs latents of size 2 or more, got size {latents.shape[1]}")
    pca = principal_directions(latents, count=2)
    return (latents - pca.mean) @ pca.directions.T


def nearest_point(coords: ArrayLike, x: float, y: float, radius: float) -> int | None:
    """Index of the point of `coords` (N, 2) nearest to (x, y), or None when none is within `radius`."""
    coords = _validate.latents("coords", coords, ndim=2)
    if len(coords) == 0:
        return None
    distance = np.hypot(coords[:, 0] - float(x), coords[:, 1] - float(y))
    best = int(np.argmin(distance))
    return best if distance[best] <= radius else None


def points_in_polygon(coords: ArrayLike, polygon: ArrayLike) -> np.ndarray:
    """Indices of the points of `coords` (N, 2) inside `polygon` (M, 2) (even-odd rule, M >= 3)."""
    coords = _validate.latents("coords", coords, ndim=2)
    polygon = _validate.latents("polygon", polygon, ndim=2)
    if len(polygon) < 3:
        raise ValueError(f"a lasso needs at least 3 corners, got {len(polygon)}")
    x, y = coords[:, 0], coords[:, 1]
    inside = np.zeros(len(coords), dtype=bool)
    x0, y0 = polygon[-1]
    for x1, y1 in polygon:  # a ray to +x crosses edge (x0,y0)-(x1,y1) when y lies between their ys
        crosses = (y1 > y) != (y0 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = (x0 - x1) * (y - y1) / (y0 - y1) + x1
        inside ^= crosses & (x < at)
        x0, y0 = x1, y1
    return np.flatnonzero(inside)


@dataclass(frozen=True)
class GridCells:
    """The map's bounding box cut into cells × cells squares, and which cell each point falls in."""

    bounds: tuple[float, float, float, float]  # left, bottom, right, top
    cells: int
    cell_of: np.ndarray  # (N,) row-major cell index, row 0 at the top


def grid_cells(coords: ArrayLike, cells: int) -> GridCells:
    """Cut the box around `coords` (N, 2) into a square grid of `cells` per side."""
    coords = _validate.nonempty("coords", _validate.latents("coords", coords, ndim=2))
    cells = _validate.count("cells", cells)
    low, high = coords.min(axis=0), coords.max(axis=0)
    span = np.maximum(high - low, 1e-12)
    col = np.minimum((coords[:, 0] - low[0]) / span[0] * cells, cells - 1).astype(np.int64)
    row_from_bottom = np.minimum((coords[:, 1] - low[1]) / span[1] * cells, cells - 1).astype(np.int64)
    cell_of = (cells - 1 - row_from_bottom) * cells + col
    return GridCells((float(low[0]), float(low[1]), float(high[0]), float(high[1])), cells, cell_of)


def cell_means(latents: ArrayLike, grid: GridCells) -> tuple[np.ndarray, np.ndarray]:
    """The mean latent of each grid cell's points (cells², d) and whether the cell has any (cells²,)."""
    latents = _validate.latents("latents", latents, ndim=2)
    if len(latents) != len(grid.cell_of):
        raise ValueError(f"latents has {len(latents)} rows but the grid has {len(grid.cell_of)} points")
    count = grid.cells * grid.cells
    sums = np.zeros((count, latents.shape[1]))
    np.add.at(sums, grid.cell_of, latents)
    counts = np.bincount(grid.cell_of, minlength=count)
    filled = counts > 0
    sums[filled] /= counts[filled, None]
    return sums, filled
