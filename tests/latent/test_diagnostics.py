"""How far encodings are from the prior."""

import numpy as np
import pytest

from explorer.latent import dead_dimensions, norm_histogram, prior_report


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
