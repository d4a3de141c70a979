"""How far encodings are from the prior."""

import numpy as np
import pytest

from explorer.latent import (
    dead_dimensions,
    kl_per_dimension,
    manifold_report,
    nearest_distances,
    norm_histogram,
    percentile_of,
    prior_report,
)


@pytest.fixture
def gaussian():
    return np.random.default_rng(0).standard_normal((2000, 32))


def test_prior_samples_match_the_gaussian_prior(gaussian):
    report = prior_report(gaussian)
    assert report.norm_ks < 0.05
    assert report.rms_norm == pytest.approx(report.expected_rms_norm, rel=0.02)
    assert report.marginal_ks.max() < 0.05
    assert len(report.dead_dimensions) == 0


def test_shrunken_encodings_are_far_from_the_chi_distribution(gaussian):
    report = prior_report(0.7 * gaussian)
    assert report.norm_ks > 0.5
    assert report.norm_ks_pvalue < 1e-6


def test_per_dimension_moments_are_reported(gaussian):
    report = prior_report(gaussian * 2 + 3)
    np.testing.assert_allclose(report.mean, 3.0, atol=0.2)
    np.testing.assert_allclose(report.variance, 4.0, rtol=0.15)


def test_dead_dimensions_are_the_ones_with_almost_no_variance(gaussian):
    latents = gaussian.copy()
    latents[:, [3, 7]] *= 0.01
    np.testing.assert_array_equal(dead_dimensions(latents), [3, 7])


def test_norm_histogram_counts_every_latent_and_expects_about_as_many(gaussian):
    histogram = norm_histogram(gaussian, bins=20)
    assert histogram.counts.sum() == len(gaussian)
    assert histogram.expected.sum() == pytest.approx(len(gaussian), rel=0.01)
    assert len(histogram.edges) == 21


def test_norm_histogram_follows_the_chi_distribution(gaussian):
    histogram = norm_histogram(gaussian, bins=10)
    busy = histogram.expected > 50
    np.testing.assert_allclose(histogram.counts[busy], histogram.expected[busy], rtol=0.25)


def test_uniform_prior_samples_match_the_uniform_prior():
    report = prior_report(np.random.default_rng(1).uniform(-1, 1, (2000, 8)), "uniform")
    assert report.marginal_ks.max() < 0.05
    assert report.expected_variance == pytest.approx(1 / 3)
    assert report.norm_ks is None


def test_gaussian_samples_do_not_match_the_uniform_prior(gaussian):
    assert prior_report(gaussian, "uniform").marginal_ks.min() > 0.1


def test_uniform_norm_histogram_expects_the_uniform_norms():
    uniform = np.random.default_rng(2).uniform(-1, 1, (4000, 8))
    histogram = norm_histogram(uniform, bins=10, prior="uniform")
    assert histogram.expected.sum() == pytest.approx(len(uniform), rel=0.01)
    busy = histogram.expected > 100
    np.testing.assert_allclose(histogram.counts[busy], histogram.expected[busy], rtol=0.25)


def test_kl_per_dimension_is_zero_at_the_prior_and_grows_with_shrinkage():
    kl = kl_per_dimension(np.zeros(3), np.array([1.0, 0.5, 0.01]))
    assert kl[0] == pytest.approx(0.0)
    assert 0 < kl[1] < kl[2]
    assert kl_per_dimension(np.zeros(1), np.array([1 / 3]), "uniform")[0] == pytest.approx(0.0)


def test_kl_per_dimension_refuses_a_zero_variance():
    with pytest.raises(ValueError, match="variance must be positive"):
        kl_per_dimension(np.zeros(2), np.array([1.0, 0.0]))


def test_nearest_distances_match_brute_force_and_leave_one_out_skips_the_point_itself():
    data = np.random.default_rng(3).standard_normal((50, 4))
    queries = np.random.default_rng(4).standard_normal((7, 4))
    brute = np.linalg.norm(queries[:, None] - data[None], axis=-1).min(axis=1)
    np.testing.assert_allclose(nearest_distances(queries, data, chunk=3), brute, atol=1e-9)
    pairwise = np.linalg.norm(data[:, None] - data[None], axis=-1) + np.diag(np.full(50, np.inf))
    np.testing.assert_allclose(nearest_distances(data, data, leave_one_out=True, chunk=8), pairwise.min(axis=1),
                               atol=1e-9)


def test_prior_samples_are_rarely_outside_a_dense_prior_sample():
    dense = np.random.default_rng(5).standard_normal((3000, 2))
    report = manifold_report(dense, samples=1000)
    assert report.share_outside < 0.15  # about 5 % when the data fill the prior
    assert report.threshold == pytest.approx(np.quantile(report.data_distances, 0.95))


def test_collapsed_data_leave_most_prior_samples_outside():
    collapsed = np.random.default_rng(6).standard_normal((1000, 4)) * 0.05
    assert manifold_report(collapsed, samples=500).share_outside > 0.9


def test_percentile_of_ranks_a_value_among_the_reference():
    assert percentile_of(2.0, [1.0, 2.0, 3.0, 4.0]) == 50.0
    assert percentile_of(0.0, [1.0, 2.0]) == 0.0
    with pytest.raises(ValueError, match="at least one value"):
        percentile_of(1.0, [])
