"""MINE grid layout."""

import numpy as np
import pytest

from explorer.latent import mine_grid


def two_clusters(rng, size=4, d=12):
    offset = np.zeros(d)
    offset[0] = 5.0
    left = rng.standard_normal((size, d)) * 0.3 - offset
    right = rng.standard_normal((size, d)) * 0.3 + offset
    return np.vstack([left, right])


@pytest.fixture
def layout():
    rng = np.random.default_rng(0)
    neighbours = rng.standard_normal((6, 10))
    return rng.standard_normal(10), neighbours, mine_grid(rng.standard_normal(10), neighbours, 5, 7)


def test_each_neighbour_sits_exactly_in_one_anchor_cell(layout):
    _, neighbours, grid = layout
    for i, neighbour in enumerate(neighbours):
        cells = np.argwhere(grid.neighbour_index == i)
        assert len(cells) == 1
        np.testing.assert_array_equal(grid.latents[tuple(cells[0])], neighbour)


def test_centre_latent_sits_in_the_middle_cell():
    rng = np.random.default_rng(1)
    centre = rng.standard_normal(10)
    grid = mine_grid(centre, rng.standard_normal((6, 10)), 5, 7)
    assert grid.centre_cell == (2, 3)
    assert grid.neighbour_index[2, 3] == -1
    np.testing.assert_array_equal(grid.latents[2, 3], centre)


def test_anchor_mask_covers_the_neighbours_and_the_centre(layout):
    _, neighbours, grid = layout
    assert grid.is_anchor.sum() == len(neighbours) + 1
    assert grid.is_anchor[grid.centre_cell]


def test_all_cells_are_finite(layout):
    assert np.isfinite(layout[2].latents).all()


def test_two_clusters_land_on_opposite_sides_of_a_wide_grid():
    rng = np.random.default_rng(2)
    grid = mine_grid(np.zeros(12), two_clusters(rng), 5, 9)
    columns = [np.argwhere(grid.neighbour_index == i)[0, 1] for i in range(8)]
    assert max(columns[:4]) < min(columns[4:]) or max(columns[4:]) < min(columns[:4])


def test_two_clusters_land_on_opposite_sides_of_a_tall_grid():
    rng = np.random.default_rng(3)
    grid = mine_grid(np.zeros(12), two_clusters(rng), 9, 5)
    rows = [np.argwhere(grid.neighbour_index == i)[0, 0] for i in range(8)]
    assert max(rows[:4]) < min(rows[4:]) or max(rows[4:]) < min(rows[:4])


def test_interpolated_cells_stay_on_the_shell_of_equal_norm_anchors():
    rng = np.random.default_rng(4)
    points = rng.standard_normal((7, 20))
    points *= 10 / np.linalg.norm(points, axis=-1, keepdims=True)
    grid = mine_grid(points[0], points[1:], 6, 6)
    np.testing.assert_allclose(np.linalg.norm(grid.latents, axis=-1), 10.0, rtol=1e-9)


@pytest.mark.parametrize(("rows", "cols", "k"), [(2, 3, 5), (4, 7, 6), (6, 5, 3), (1, 8, 4), (10, 10, 9)])
def test_any_grid_size_with_room_for_the_neighbours_works(rows, cols, k):
    rng = np.random.default_rng(rows * cols)
    grid = mine_grid(rng.standard_normal(8), rng.standard_normal((k, 8)), rows, cols)
    assert grid.latents.shape == (rows, cols, 8)
    assert sorted(grid.neighbour_index[grid.neighbour_index >= 0]) == list(range(k))
    assert np.isfinite(grid.latents).all()


def test_a_single_neighbour_is_laid_out():
    grid = mine_grid(np.ones(4), np.full((1, 4), 2.0), 3, 3)
    assert (grid.neighbour_index == 0).sum() == 1
