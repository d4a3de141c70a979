"""Exemplar arithmetic and DCGAN-style jitter grids."""

import numpy as np

from explorer.latent import average_exemplars, combine_concepts, jitter_grid


def test_average_exemplars_is_the_mean_latent():
    exemplars = np.array([[1.0, 2.0], [3.0, 6.0]])
    np.testing.assert_array_equal(average_exemplars(exemplars), [2.0, 4.0])


def test_combine_concepts_applies_signed_coefficients_to_the_means():
    rng = np.random.default_rng(0)
    x, y, z = rng.standard_normal((3, 4, 6))
    expected = x.mean(axis=0) - y.mean(axis=0) + z.mean(axis=0)
    np.testing.assert_allclose(combine_concepts([x, y, z], [1, -1, 1]), expected)


def test_combine_concepts_accepts_different_exemplar_counts():
    result = combine_concepts([np.ones((3, 2)), np.full((1, 2), 4.0)], [2.0, 0.5])
    np.testing.assert_array_equal(result, [4.0, 4.0])


def test_jitter_grid_keeps_the_middle_cell_exact():
    latent = np.arange(5.0)
    np.testing.assert_array_equal(jitter_grid(latent, 3, 3)[1, 1], latent)


def test_jitter_grid_noise_stays_within_the_spread():
    latent = np.arange(5.0)
    grid = jitter_grid(latent, 4, 5, spread=0.25)
    assert grid.shape == (4, 5, 5)
    assert np.abs(grid - latent).max() <= 0.25
    assert np.abs(grid - latent).max() > 0.2


def test_jitter_grid_is_reproducible_from_its_seed():
    np.testing.assert_array_equal(jitter_grid(np.zeros(3), 3, 3, seed=7), jitter_grid(np.zeros(3), 3, 3, seed=7))
    assert not np.array_equal(jitter_grid(np.zeros(3), 3, 3, seed=7), jitter_grid(np.zeros(3), 3, 3, seed=8))
