"""PCA and SeFa directions, directions from two groups, and orthogonalising against locks."""

import subprocess
import sys

import numpy as np
import pytest

from explorer.latent import custom_direction, orthogonalise, principal_directions, sefa_directions

PLANTED_SPREADS = (6.0, 4.5, 3.0, 2.0)  # standard deviations along the planted axes; noise has 0.3


@pytest.fixture
def planted():
    """2,000 latents in 16-d: four orthonormal axes with well separated spreads, plus isotropic noise."""
    rng = np.random.default_rng(0)
    d = 16
    axes = np.linalg.qr(rng.standard_normal((d, d)))[0][:, : len(PLANTED_SPREADS)].T  # (4, d) orthonormal rows
    coordinates = rng.standard_normal((2000, len(PLANTED_SPREADS))) * PLANTED_SPREADS
    latents = coordinates @ axes + 0.3 * rng.standard_normal((2000, d)) + 1.5
    return latents, axes


def test_pca_recovers_the_planted_axes_in_order(planted):
    latents, axes = planted
    result = principal_directions(latents, count=4)
    cosines = np.abs(np.sum(result.directions * axes, axis=1))
    assert cosines.min() > 0.99, cosines


def test_pca_directions_are_orthonormal_and_the_mean_is_the_latent_mean(planted):
    latents, _ = planted
    result = principal_directions(latents)
    np.testing.assert_allclose(result.directions @ result.directions.T, np.eye(16), atol=1e-12)
    np.testing.assert_allclose(result.mean, latents.mean(axis=0))


def test_pca_variance_is_the_variance_along_each_direction_and_ratios_sum_to_one(planted):
    latents, _ = planted
    result = principal_directions(latents)
    along = np.var((latents - result.mean) @ result.directions.T, axis=0, ddof=1)
    np.testing.assert_allclose(result.variance, along, rtol=1e-10)
    assert result.explained_variance_ratio.sum() == pytest.approx(1.0)
    assert np.all(np.diff(result.variance) <= 0)


def test_pca_explained_variance_agrees_with_sklearn(planted):
    from sklearn.decomposition import PCA

    latents, _ = planted
    reference = PCA(n_components=6).fit(latents)
    result = principal_directions(latents, count=6)
    np.testing.assert_allclose(result.explained_variance_ratio, reference.explained_variance_ratio_, rtol=1e-8)
    np.testing.assert_allclose(np.abs(np.sum(result.directions * reference.components_, axis=1)), 1.0, atol=1e-8)


def test_pca_signs_put_each_directions_largest_component_positive(planted):
    latents, _ = planted
    directions = principal_directions(-latents).directions
    assert np.all(directions[np.arange(16), np.argmax(np.abs(directions), axis=1)] > 0)


def test_pca_of_identical_latents_is_refused():
    with pytest.raises(ValueError, match="all identical"):
        principal_directions(np.ones((5, 3)))


def test_pca_count_beyond_the_rank_bound_is_refused():
    with pytest.raises(ValueError, match=r"count must be at most min\(n - 1, d\) = 4"):
        principal_directions(np.random.default_rng(0).standard_normal((5, 8)), count=5)


def test_sefa_returns_the_top_right_singular_vectors_of_a_known_layer():
    rng = np.random.default_rng(1)
    d, out = 8, 40
    left = np.linalg.qr(rng.standard_normal((out, d)))[0]
    right = np.linalg.qr(rng.standard_normal((d, d)))[0]
    singular = np.array([9.0, 7.0, 5.0, 3.0, 2.0, 1.0, 0.5, 0.25])
    weight = left @ np.diag(singular) @ right.T  # right's columns are the right-singular vectors
    result = sefa_directions(weight, count=3)
    np.testing.assert_allclose(np.abs(np.sum(result.directions * right[:, :3].T, axis=1)), 1.0, atol=1e-12)
    np.testing.assert_allclose(result.eigenvalues, singular[:3] ** 2, rtol=1e-12)


def test_sefa_directions_are_eigenvectors_of_the_gram_matrix():
    weight = np.random.default_rng(2).standard_normal((50, 6))
    result = sefa_directions(weight)
    gram = weight.T @ weight
    np.testing.assert_allclose(result.directions @ gram, result.eigenvalues[:, None] * result.directions, atol=1e-9)
    np.testing.assert_allclose(result.eigenvalues, np.linalg.eigvalsh(gram)[::-1], rtol=1e-10)


def test_sefa_of_a_zero_layer_is_refused():
    with pytest.raises(ValueError, match="all zeros"):
        sefa_directions(np.zeros((4, 3)))


def test_custom_direction_is_the_unit_difference_of_the_group_means():
    a = np.array([[0.0, 0.0], [2.0, 0.0]])
    b = np.array([[1.0, 4.0], [1.0, 2.0], [1.0, 3.0]])
    result = custom_direction(a, b)
    np.testing.assert_allclose(result.vector, [0.0, 1.0])
    assert result.distance == pytest.approx(3.0)


def test_custom_direction_of_groups_with_one_mean_is_refused():
    with pytest.raises(ValueError, match="same mean"):
        custom_direction([[1.0, 0.0], [-1.0, 0.0]], [[0.0, 0.0]])


def test_custom_direction_needs_both_groups():
    with pytest.raises(ValueError, match="latents_b must hold at least one latent"):
        custom_direction(np.ones((3, 2)), np.zeros((0, 2)))


def _random_locks(rng: np.random.Generator, k: int, d: int, dependent: bool) -> np.ndarray:
    """k locks in d-d; with `dependent`, the later ones are combinations of the first (and one is zero)."""
    locks = rng.standard_normal((k, d)) * rng.uniform(0.1, 10.0, (k, 1))
    if dependent and k >= 2:
        independent = max(1, k // 2)
        mixing = rng.standard_normal((k - independent, independent))
        locks[independent:] = mixing @ locks[:independent]
        locks[-1] = locks[0] * 3.0 if k >= 3 else locks[-1]
        if k >= 4:
            locks[1] = 0.0
    return locks


@pytest.mark.parametrize("dependent", [False, True], ids=["independent", "dependent"])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("seed", range(5))
def test_orthogonalising_against_k_locks_leaves_no_dot_product_with_any_lock(k, dependent, seed):
    rng = np.random.default_rng(seed)
    d = 32
    locks = _random_locks(rng, k, d, dependent)
    direction = rng.standard_normal(d) + locks.sum(axis=0)  # far from orthogonal to start with
    result = orthogonalise(direction, locks)
    assert np.max(np.abs(locks @ result)) <= 1e-9
    assert np.linalg.norm(result) == pytest.approx(1.0, abs=1e-12)


def test_orthogonalising_keeps_the_part_of_the_direction_outside_the_locks():
    locks = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    np.testing.assert_allclose(orthogonalise([3.0, 5.0, -2.0], locks), [0.0, 0.0, -1.0], atol=1e-15)


def test_orthogonalising_against_nearly_parallel_locks_still_clears_both():
    rng = np.random.default_rng(7)
    first = rng.standard_normal(16)
    locks = np.array([first, first + 1e-7 * rng.standard_normal(16), first + 1e-13 * rng.standard_normal(16)])
    result = orthogonalise(rng.standard_normal(16) + first, locks)
    assert np.max(np.abs(locks @ result)) <= 1e-9


def test_a_direction_in_the_span_of_the_locks_is_refused():
    locks = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    with pytest.raises(ValueError, match=r"lies in the span of the 3 locks \(rank 2\)"):
        orthogonalise([2.0, -1.0, 0.0], locks)


def test_orthogonalising_against_no_locks_normalises():
    np.testing.assert_allclose(orthogonalise([3.0, 4.0], np.zeros((0, 2))), [0.6, 0.8])


def test_locks_of_another_latent_size_are_refused():
    with pytest.raises(ValueError, match="locks has latent size 3"):
        orthogonalise(np.ones(4), np.ones((2, 3)))


def test_direction_modules_import_no_torch():
    code = ("import sys, explorer.latent.directions, explorer.latent.naming, explorer.latent.side_effects; "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
