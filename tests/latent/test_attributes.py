"""Plain, balanced and synthetic attribute vectors."""

import numpy as np
import pytest

from explorer.latent import attribute_vector, balanced_attribute_vector, synthetic_attribute_vector


@pytest.fixture
def correlated():
    """Latents where X (direction e0) co-occurs with Y (direction e1) nine times in ten."""
    rng = np.random.default_rng(0)
    n, d = 4000, 10
    y = rng.random(n) < 0.5
    x = np.where(y, rng.random(n) < 0.9, rng.random(n) < 0.1)
    latents = rng.standard_normal((n, d)) * 0.5
    latents[:, 0] += 2.0 * x
    latents[:, 1] += 2.0 * y
    return latents, {"X": x, "Y": y}


def test_attribute_vector_is_mean_of_positives_minus_mean_of_negatives():
    latents = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 5.0]])
    np.testing.assert_array_equal(attribute_vector(latents, [True, True, False]), [2.0, -5.0])


def test_plain_vector_picks_up_a_correlated_attribute(correlated):
    latents, labels = correlated
    assert attribute_vector(latents, labels["X"])[1] > 1.0


def test_balancing_removes_the_correlated_attribute(correlated):
    latents, labels = correlated
    result = balanced_attribute_vector(latents, labels, "X", ["Y"])
    assert abs(result.vector[1]) < 0.1
    assert result.vector[0] == pytest.approx(2.0, abs=0.1)


def test_balanced_cell_counts_report_originals_and_the_common_replicated_size(correlated):
    latents, labels = correlated
    result = balanced_attribute_vector(latents, labels, "X", ["Y"])
    x, y = labels["X"], labels["Y"]
    assert result.attributes == ("X", "Y")
    assert result.cell_counts[(True, False)][0] == int((x & ~y).sum())
    assert sum(original for original, _ in result.cell_counts.values()) == len(latents)
    largest = max(original for original, _ in result.cell_counts.values())
    assert {replicated for _, replicated in result.cell_counts.values()} == {largest}


def test_balancing_equals_replicating_every_cell_to_the_same_count():
    latents = np.array([[0.0], [2.0], [4.0], [10.0], [1.0], [3.0]])
    labels = {"T": np.array([1, 1, 1, 1, 0, 0]), "B": np.array([1, 1, 1, 0, 1, 0])}
    # cells (T, B): (1,1) = {0, 2, 4}, (1,0) = {10}, (0,1) = {1}, (0,0) = {3}; replicated to 3 each
    replicated_on = np.r_[[0.0, 2.0, 4.0], [10.0] * 3].mean()
    replicated_off = np.r_[[1.0] * 3, [3.0] * 3].mean()
    result = balanced_attribute_vector(latents, labels, "T", ["B"])
    assert result.vector[0] == pytest.approx(replicated_on - replicated_off)


def test_balancing_on_nothing_gives_the_plain_vector(correlated):
    latents, labels = correlated
    np.testing.assert_allclose(
        balanced_attribute_vector(latents, labels, "X", []).vector, attribute_vector(latents, labels["X"])
    )


def test_an_empty_cell_is_named_in_the_error():
    labels = {"T": np.array([True, True, False, False]), "B": np.array([True, False, True, True])}
    with pytest.raises(ValueError, match="no latent has T=False, B=False"):
        balanced_attribute_vector(np.zeros((4, 2)), labels, "T", ["B"])


def test_synthetic_vector_is_the_mean_shift_of_the_edited_encodings():
    rng = np.random.default_rng(1)
    latents = rng.standard_normal((20, 4))
    np.testing.assert_allclose(synthetic_attribute_vector(latents, latents + [1.0, 0.0, -2.0, 0.5]), [1, 0, -2, 0.5])
