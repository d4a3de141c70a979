"""Analogies and J-diagrams."""

import numpy as np
import pytest

from explorer.latent import analogy, gaussian_shell_radius, j_diagram, slerp


@pytest.fixture
def corners():
    return np.random.default_rng(0).standard_normal((3, 16))


def test_analogy_is_b_plus_c_minus_a(corners):
    a, b, c = corners
    np.testing.assert_array_equal(analogy(a, b, c), b + c - a)


def test_analogy_rescaled_to_the_shell_has_the_shell_norm(corners):
    a, b, c = corners
    result = analogy(a, b, c, rescale_to=gaussian_shell_radius(16))
    assert np.linalg.norm(result) == pytest.approx(4.0)
    np.testing.assert_allclose(result / 4.0, (b + c - a) / np.linalg.norm(b + c - a))


def test_analogy_rescales_each_latent_of_a_batch():
    rng = np.random.default_rng(1)
    a, b, c = rng.standard_normal((3, 5, 8))
    np.testing.assert_allclose(np.linalg.norm(analogy(a, b, c, rescale_to=2.0), axis=-1), 2.0)


def test_gaussian_shell_radius_is_sqrt_d():
    assert gaussian_shell_radius(100) == 10.0


def test_j_diagram_corners_are_exactly_a_b_c_and_the_analogy(corners):
    a, b, c = corners
    grid = j_diagram(a, b, c, 5, 7)
    assert grid.shape == (5, 7, 16)
    np.testing.assert_array_equal(grid[0, 0], a)
    np.testing.assert_array_equal(grid[-1, 0], b)
    np.testing.assert_array_equal(grid[0, -1], c)
    np.testing.assert_array_equal(grid[-1, -1], b + c - a)


def test_j_diagram_left_edge_is_the_slerp_from_a_to_b(corners):
    a, b, c = corners
    np.testing.assert_allclose(j_diagram(a, b, c, 6, 4)[:, 0], slerp(a, b, np.linspace(0, 1, 6)), atol=1e-12)


def test_j_diagram_rows_are_slerps_between_the_edges(corners):
    a, b, c = corners
    grid = j_diagram(a, b, c, 4, 5)
    np.testing.assert_allclose(grid[2], slerp(grid[2, 0], grid[2, -1], np.linspace(0, 1, 5)), atol=1e-12)


def test_j_diagram_bottom_right_follows_rescale_to(corners):
    a, b, c = corners
    grid = j_diagram(a, b, c, 3, 3, rescale_to=4.0)
    assert np.linalg.norm(grid[-1, -1]) == pytest.approx(4.0)
