"""explorer.latent.sampling: prior draws, sampler weights, resampling and effective sample size."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from explorer.latent.sampling import (
    effective_sample_size,
    magnet_log_weights,
    polarity_log_weights,
    prior_log_density,
    resample,
    sample_prior,
)


def test_gaussian_truncation_resamples_inside_the_bound_rather_than_clipping():
    latents = sample_prior("gaussian", 4000, 8, seed=0, truncation=0.5)
    assert latents.dtype == np.float32 and latents.shape == (4000, 8)
    assert np.abs(latents).max() <= 0.5
    assert np.mean(np.abs(latents) == np.float32(0.5)) < 1e-3  # clipping would put ~62% here


@pytest.mark.parametrize("bound", [0.05, 0.8, 1.5])
def test_gaussian_truncation_follows_the_truncated_normal(bound):
    latents = sample_prior("gaussian", 2000, 2, seed=1, truncation=bound).ravel()
    truncated = stats.truncnorm(-bound, bound)
    assert stats.kstest(latents, truncated.cdf).pvalue > 0.01


def test_uniform_prior_fills_the_cube_and_truncation_shrinks_it():
    full = sample_prior("uniform", 4000, 3, seed=0)
    assert np.abs(full).max() <= 1.0 and np.abs(full).max() > 0.99
    assert np.abs(sample_prior("uniform", 100, 3, seed=0, truncation=0.3)).max() <= 0.3


def test_same_seed_gives_same_latents():
    np.testing.assert_array_equal(sample_prior("gaussian", 5, 4, seed=7), sample_prior("gaussian", 5, 4, seed=7))


def test_gaussian_prior_log_density_is_the_standard_normal_one():
    latents = np.array([[0.0, 0.0], [1.0, -2.0]])
    expected = -0.5 * np.array([0.0, 5.0]) - np.log(2 * np.pi)
    np.testing.assert_allclose(prior_log_density(latents, "gaussian"), expected)


def test_magnet_weight_is_log_volume_minus_log_prior_density():
    latents = np.array([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]])
    log_volume = np.array([1.5, -3.0])
    expected = log_volume + 0.5 * np.sum(latents**2, axis=1) + 1.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(magnet_log_weights(log_volume, latents, "gaussian"), expected)


def test_magnet_weight_under_uniform_prior_is_log_volume_plus_a_constant():
    latents = np.array([[0.5, -1.0], [0.0, 0.9]])
    weights = magnet_log_weights(np.array([1.0, 2.0]), latents, "uniform")
    np.testing.assert_allclose(weights, np.array([1.0, 2.0]) + 2 * np.log(2.0))


def test_magnet_refuses_latents_outside_the_uniform_prior():
    with pytest.raises(ValueError, match="support"):
        magnet_log_weights(np.zeros(1), np.array([[1.5, 0.0]]), "uniform")


def test_polarity_weight_is_rho_times_log_volume():
    np.testing.assert_allclose(polarity_log_weights(np.array([1.0, -2.0]), -0.5), [-0.5, 1.0])


@given(st.integers(1, 500))
def test_uniform_weights_have_ess_equal_to_their_count(n):
    assert effective_sample_size(np.full(n, -3.7)) == pytest.approx(n)


def test_one_dominant_weight_has_ess_near_one():
    log_weights = np.zeros(1000)
    log_weights[17] = 50.0
    assert effective_sample_size(log_weights) == pytest.approx(1.0, abs=1e-6)


def test_huge_log_weights_do_not_overflow():
    log_weights = np.array([1000.0, 1000.0, -np.inf])
    assert effective_sample_size(log_weights) == pytest.approx(2.0)
    drawn = resample(np.arange(3.0)[:, None], log_weights, 50, seed=0)
    assert set(drawn[:, 0]) == {0.0, 1.0}


def test_resample_follows_the_weights():
    latents = np.arange(3.0)[:, None]
    drawn = resample(latents, np.log([0.2, 0.3, 0.5]), 20000, seed=0)
    np.testing.assert_allclose(np.bincount(drawn[:, 0].astype(int)) / 20000, [0.2, 0.3, 0.5], atol=0.015)


def test_resample_without_replacement_gives_distinct_rows():
    latents = np.arange(10.0)[:, None]
    drawn = resample(latents, np.arange(10.0) * 3, 10, seed=0, replace=False)
    assert sorted(drawn[:, 0]) == list(range(10))


def test_resample_without_replacement_refuses_more_than_the_weighted_rows():
    log_weights = np.array([0.0, -np.inf, 0.0])
    with pytest.raises(ValueError, match="n=3 distinct"):
        resample(np.zeros((3, 2)), log_weights, 3, seed=0, replace=False)


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: resample(np.zeros((3, 2)), np.array([0.0, np.nan, 0.0]), 2, seed=0), "log_weights"),
        (lambda: resample(np.zeros((3, 2)), np.array([0.0, np.inf, 0.0]), 2, seed=0), "log_weights"),
        (lambda: resample(np.zeros((3, 2)), np.zeros(4), 2, seed=0), "log_weights"),
        (lambda: resample(np.zeros((3, 2)), np.full(3, -np.inf), 2, seed=0), "log_weights"),
        (lambda: resample(np.full((3, 2), np.nan), np.zeros(3), 2, seed=0), "latents"),
        (lambda: resample(np.zeros(3), np.zeros(3), 2, seed=0), "latents"),
        (lambda: resample(np.zeros((3, 2)), np.zeros(3), 0, seed=0), "n"),
        (lambda: magnet_log_weights(np.array([np.inf]), np.zeros((1, 2)), "gaussian"), "log_volume"),
        (lambda: magnet_log_weights(np.zeros(2), np.zeros((1, 2)), "gaussian"), "log_volume"),
        (lambda: polarity_log_weights(np.zeros(2), np.nan), "rho"),
        (lambda: sample_prior("laplace", 2, 2, seed=0), "prior"),
        (lambda: sample_prior("gaussian", 2, 2, seed=0, truncation=-1.0), "truncation"),
        (lambda: effective_sample_size(np.zeros((2, 2))), "log_weights"),
    ],
)
def test_bad_inputs_raise_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()
