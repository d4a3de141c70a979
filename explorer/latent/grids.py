"""MINE grids (Manifold Interpolated Neighbour Embedding, White 2016): a latent's neighbours laid
out on a 2-D grid so that similar ones sit together, with the cells between them interpolated.

Layout: the neighbours are projected onto their first two principal axes (the wider spread along
the longer side of the grid), the projection is stretched to span the grid, and each neighbour is
given its own cell by an optimal assignment (scipy's linear_sum_assignment, minimising the total
squared distance between projected positions and cells). The centre latent takes the middle cell
(rows // 2, cols // 2), which no neighbour may take.

Filling: every other cell is the spherical average (`spherical_average`: slerp extended to many
points) of all anchors (neighbours and centre), weighted by inverse squared cell distance
(Shepard's weights): nearer anchors dominate, directions are averaged along great circles (with
two anchors every cell lies on the arc between them) and norms linearly, so cells stay on the
prior's shell instead of sinking inside it as linear blends would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import linear_sum_assignment

from explorer.latent import _validate
from explorer.latent.interpolate import spherical_average


@dataclass(frozen=True)
class MineGrid:
    """Latents of a MINE grid and where the given latents were placed."""

    latents: np.ndarray  # (rows, cols, d)
    neighbour_index: np.ndarray  # (rows, cols) int: index into `neighbours`, -1 for other cells
    centre_cell: tuple[int, int]  # (row, col) holding the centre latent

    @property
    def is_anchor(self) -> np.ndarray:
        """(rows, cols) bool: True for cells holding a given latent (a neighbour or the centre)."""
        anchors = self.neighbour_index >= 0
        anchors[self.centre_cell] = True
        return anchors


def mine_grid(centre: ArrayLike, neighbours: ArrayLike, rows: int, cols: int) -> MineGrid:
    """Lay out `neighbours` (k, d) around `centre` (d,) on a (rows, cols) grid; needs rows * cols > k."""
    centre = _validate.latents("centre", centre, ndim=1)
    neighbours = _validate.nonempty("neighbours", _validate.latents("neighbours", neighbours, ndim=2))
    _validate.same_dim(("centre", centre), ("neighbours", neighbours))
    rows = _validate.count("rows", rows)
    cols = _validate.count("cols", cols)
    k = len(neighbours)
    if rows * cols < k + 1:
        raise ValueError(
            f"a {rows}x{cols} grid has {rows * cols} cells, too few for the centre and {k} neighbours; "
            f"use at least {k + 1} cells"
        )
    middle = (rows // 2, cols // 2)
    cells = np.argwhere(np.ones((rows, cols), dtype=bool))
    free = cells[(cells != middle).any(axis=1)]
    positions = _projected_positions(neighbours, rows, cols)
    cost = ((positions[:, None, :] - free[None, :, :]) ** 2).sum(axis=-1)
    chosen = free[linear_sum_assignment(cost)[1]]

    neighbour_index = np.full((rows, cols), -1)
    neighbour_index[chosen[:, 0], chosen[:, 1]] = np.arange(k)
    anchor_cells = np.vstack([chosen, middle])
    is_anchor = np.zeros((rows, cols), dtype=bool)
    is_anchor[anchor_cells[:, 0], anchor_cells[:, 1]] = True
    between = np.argwhere(~is_anchor)
    distance2 = ((between[:, None, :] - anchor_cells[None, :, :]) ** 2).sum(axis=-1)
    latents = np.empty((rows, cols, centre.shape[0]))
    latents[~is_anchor] = spherical_average(np.vstack([neighbours, centre]), 1.0 / distance2)
    latents[chosen[:, 0], chosen[:, 1]] = neighbours
    latents[middle] = centre
    return MineGrid(latents=latents, neighbour_index=neighbour_index, centre_cell=middle)


def mine_neighbour_count(size: int) -> int:
    """How many neighbours a size × size MINE grid places: about half the cells, the rest interpolated."""
    return max(2, (size * size) // 2)


def _projected_positions(neighbours: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(k, 2) fractional (row, col) positions: the top two principal axes stretched over the grid."""
    centred = neighbours - neighbours.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    top = np.zeros((len(neighbours), 2))
    top[:, : min(2, len(axes))] = centred @ axes[:2].T
    # (row, col): the first axis, the wider spread, goes along the longer side
    coords = top[:, ::-1] if cols >= rows else top
    span = coords.max(axis=0) - coords.min(axis=0)
    unit = np.where(span > 0, (coords - coords.min(axis=0)) / np.where(span > 0, span, 1.0), 0.5)
    return unit * (np.array([rows, cols]) - 1)
