"""explorer.latent.sampling: prior draws, sampler weights, resampling and effective sample size."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from explorer.latent.sampling import (
    SUPPORT_MASS,
    Target,
    active_dimensions,
    best_rung,
    capped_k,
    effective_sample_size,
    in_support,
    magnet_log_weights,
    polarity_log_weights,
    prior_log_density,
    resample,
    sample_prior,
    sampler_description,
    sampler_target,
    support_radius,
    target_log_density,
    top_k_log_volume,
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


# -- top-k volumes, targets and rungs ----------------------------------------------------------


def test_top_k_log_volume_sums_the_k_largest_and_k_equal_to_d_is_the_full_volume():
    log_sv = np.array([[2.0, 0.5, -1.0], [1.0, 0.0, -3.0]], dtype=np.float32)
    np.testing.assert_allclose(top_k_log_volume(log_sv, 1), [2.0, 1.0])
    np.testing.assert_allclose(top_k_log_volume(log_sv, 3), log_sv.sum(axis=1))


def test_top_k_log_volume_refuses_more_singular_values_than_latents():
    with pytest.raises(ValueError, match="k=4.*d=3"):
        top_k_log_volume(np.zeros((2, 3)), 4)


def test_active_dimensions_counts_latents_that_vary_over_held_out_data():
    rng = np.random.default_rng(0)
    latents = np.concatenate([rng.standard_normal((500, 3)), 0.01 * rng.standard_normal((500, 2))], axis=1)
    assert active_dimensions(latents) == 3


def test_capped_k_keeps_the_spread_of_the_top_k_volume_within_the_cap():
    rng = np.random.default_rng(1)
    # Singular values that rise and fall together by 0.5 nats each: the top-k spread is 0.5 k.
    log_sv = np.sort(rng.normal(0.0, 0.5, (2000, 1)) + np.linspace(2, -2, 8), axis=1)[:, ::-1]
    assert capped_k(8, log_sv, max_spread=1.75) == 3
    assert capped_k(2, log_sv, max_spread=1.75) == 2  # never above the active dimensions
    assert capped_k(8, log_sv, max_spread=0.1) == 1


def test_the_gaussian_support_is_the_ball_holding_its_mass():
    radius = support_radius(5)
    assert stats.chi2(5).cdf(radius**2) == pytest.approx(SUPPORT_MASS)
    assert in_support(np.array([[radius * 0.99, 0, 0, 0, 0], [radius * 1.01, 0, 0, 0, 0]]), "gaussian").tolist() == [
        True, False]
    assert in_support(np.array([[0.5, -1.0], [1.2, 0.0]]), "uniform").tolist() == [True, False]


def test_targets_are_prior_times_volume_to_the_rho_and_divided_drops_the_prior():
    latents = np.array([[0.5, -1.0], [0.0, 0.3]])
    log_volume = np.array([1.5, -2.0])
    log_prior = prior_log_density(latents, "gaussian")
    np.testing.assert_allclose(target_log_density(latents, log_volume, "gaussian", sampler_target("magnet", 0, 2)),
                               log_prior + log_volume)
    np.testing.assert_allclose(
        target_log_density(latents, log_volume, "gaussian", sampler_target("polarity", -0.5, 2)),
        log_prior - 0.5 * log_volume)
    np.testing.assert_allclose(
        target_log_density(latents, log_volume, "gaussian", sampler_target("uniform-manifold", 0, 2)), log_volume)
    far = np.array([[10.0, 0.0]])
    assert target_log_density(far, np.zeros(1), "gaussian", sampler_target("prior", 0, 2))[0] == -np.inf


def test_counts_weigh_like_repeated_rows_in_the_ess():
    log_weights = np.log([1.0, 2.0, 0.5])
    expanded = np.log([1.0, 2.0, 2.0, 2.0, 0.5, 0.5])
    assert effective_sample_size(log_weights, np.array([1, 3, 2])) == pytest.approx(effective_sample_size(expanded))


def test_best_rung_takes_the_rung_that_keeps_more_effective_samples():
    rung = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    target_log = np.zeros(8)
    log_source = np.array([0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0])  # rung 0 over-sampled row 3
    rows, log_weights, ess, index = best_rung(target_log, log_source, np.ones(8, int), rung, np.array([1.0, 0.5]))
    assert index == 0 and rows.tolist() == [0, 1, 2, 3]
    assert ess == pytest.approx(effective_sample_size(-log_source[:4]))
    _, _, ess, index = best_rung(target_log, np.zeros(8), np.ones(8, int), rung, np.array([0.5, 1.0]))
    assert (index, ess) == (1, pytest.approx(4.0))


def test_sampler_target_names_each_sampler_and_refuses_others():
    assert sampler_target("magnet", 7.0, 3) == Target(1.0, 3)
    assert sampler_target("polarity", -0.5, 3) == Target(-0.5, 3)
    assert sampler_target("uniform-manifold", 0.0, 3).divide_prior
    with pytest.raises(ValueError, match="sampler"):
        sampler_target("tempered", 0.0, 3)
    with pytest.raises(ValueError, match="k"):
        sampler_target("magnet", 0.0, 0)


def test_sampler_descriptions_name_the_target_with_its_rho_and_k():
    assert "p(z) · vol_k(z)" in sampler_description("magnet", 0.0, 6, 16, "gaussian")
    assert "top 6 of 16" in sampler_description("magnet", 0.0, 6, 16, "gaussian")
    assert "free of the decoder's stretching" in sampler_description("magnet", 0.0, 16, 16, "gaussian")
    assert "ρ = -0.5" in sampler_description("polarity", -0.5, 6, 16, "gaussian")
    assert "quality" in sampler_description("polarity", -0.5, 6, 16, "gaussian")
    assert "diversity" in sampler_description("polarity", 2.0, 6, 16, "gaussian")
    assert "same as MaGNET" in sampler_description("uniform-manifold", 0.0, 2, 2, "uniform")
    assert "effective sample size" in sampler_description("uniform-manifold", 0.0, 2, 2, "gaussian")
