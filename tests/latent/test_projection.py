"""The 2-D map's math: PCA coordinates, the nearest point to a click, lasso membership, atlas cells."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.latent.projection import cell_means, grid_cells, nearest_point, pca_2d, points_in_polygon


def test_pca_2d_keeps_the_two_planted_axes_of_largest_spread():
    rng = np.random.default_rng(0)
    latents = rng.normal(size=(500, 6)) * np.array([0.01, 5.0, 0.01, 2.0, 0.01, 0.01])
    coords = pca_2d(latents)
    assert coords.shape == (500, 2)
    # the map's axes are the planted coordinates 1 and 3 (up to sign)
    assert abs(np.corrcoef(coords[:, 0], latents[:, 1])[0, 1]) > 0.99
    assert abs(np.corrcoef(coords[:, 1], latents[:, 3])[0, 1]) > 0.99


def test_pca_2d_refuses_one_dimensional_latents():
    with pytest.raises(ValueError, match="size 2 or more"):
        pca_2d(np.zeros((5, 1)))


def test_nearest_point_within_the_radius_and_none_beyond_it():
    coords = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert nearest_point(coords, 0.9, 0.1, radius=0.2) == 1
    assert nearest_point(coords, 0.5, 0.5, radius=0.2) is None
    assert nearest_point(np.zeros((0, 2)), 0.0, 0.0, radius=1.0) is None


def test_points_in_polygon_finds_the_points_inside_a_concave_lasso():
    grid = np.array([[x, y] for x in range(5) for y in range(5)], dtype=float) + 0.5
    # an L shape: the column x < 1 and the row y < 1
    polygon = np.array([[0, 0], [5, 0], [5, 1], [1, 1], [1, 5], [0, 5]], dtype=float)
    inside = {tuple(grid[i]) for i in points_in_polygon(grid, polygon)}
    expected = {(x + 0.5, 0.5) for x in range(5)} | {(0.5, y + 0.5) for y in range(5)}
    assert inside == expected


def test_a_lasso_needs_three_corners():
    with pytest.raises(ValueError, match="at least 3 corners"):
        points_in_polygon(np.zeros((2, 2)), np.zeros((2, 2)))


def test_cell_means_average_the_latents_of_each_cell_and_mark_empty_cells():
    coords = np.array([[0.0, 0.0], [0.1, 0.1], [1.0, 1.0]])
    latents = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 5.0]])
    grid = grid_cells(coords, 2)
    assert grid.bounds == (0.0, 0.0, 1.0, 1.0)
    # row 0 is the top: the point at (1, 1) is in the top-right cell (1), the others bottom-left (2)
    assert list(grid.cell_of) == [2, 2, 1]
    means, filled = cell_means(latents, grid)
    assert list(filled) == [False, True, True, False]
    np.testing.assert_allclose(means[2], [2.0, 0.0])
    np.testing.assert_allclose(means[1], [0.0, 5.0])
