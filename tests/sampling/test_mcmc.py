"""explorer.latent.mcmc: proposals, the MH acceptance and the multi-chain effective sample size."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from explorer.latent.mcmc import (
    GaussianProposal,
    UniformProposal,
    accept,
    chain_ess,
    fit_gaussian,
    mixture_log_density,
    prior_proposal,
)


def _ar1_chains(phi: float, chains: int, steps: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = np.empty((chains, steps))
    values[:, 0] = rng.standard_normal(chains)
    for t in range(1, steps):
        values[:, t] = phi * values[:, t - 1] + np.sqrt(1 - phi**2) * rng.standard_normal(chains)
    return values


def test_independent_draws_have_ess_equal_to_their_number():
    assert chain_ess(_ar1_chains(0.0, 50, 200)) == pytest.approx(50 * 200, rel=0.1)


@pytest.mark.parametrize("phi", [0.5, 0.9])
def test_ess_of_ar1_chains_is_their_length_over_the_autocorrelation_time(phi):
    values = _ar1_chains(phi, 20, 2000, seed=1)
    tau = (1 + phi) / (1 - phi)
    assert chain_ess(values) == pytest.approx(values.size / tau, rel=0.2)


def test_chains_stuck_at_their_starting_points_count_as_about_one_draw_each():
    values = np.repeat(np.random.default_rng(2).standard_normal((100, 1)), 40, axis=1)
    assert chain_ess(values) < 2 * 100  # not the 4000 steps they hold


def test_a_statistic_that_never_varies_reports_every_step():
    assert chain_ess(np.ones((3, 10))) == 30.0


@pytest.mark.parametrize("values", [np.zeros(10), np.zeros((3, 3)), np.full((2, 8), np.nan)], ids=["1-d", "short", "nan"])
def test_chain_ess_refuses_bad_values(values):
    with pytest.raises(ValueError, match="values"):
        chain_ess(values)


def test_gaussian_proposal_density_is_the_multivariate_normal_one():
    mean, cholesky = np.array([1.0, -2.0]), np.array([[2.0, 0.0], [0.5, 0.3]])
    proposal = GaussianProposal(mean, cholesky)
    points = proposal.sample(5, np.random.default_rng(0))
    expected = stats.multivariate_normal(mean, cholesky @ cholesky.T).logpdf(points)
    np.testing.assert_allclose(proposal.log_density(points), expected, rtol=1e-6)


def test_uniform_proposal_is_the_cube_and_zero_outside():
    proposal = UniformProposal(3)
    points = proposal.sample(1000, np.random.default_rng(0))
    assert np.abs(points).max() <= 1.0
    np.testing.assert_allclose(proposal.log_density(np.array([[0.0, 0.5, -0.9], [1.5, 0.0, 0.0]])),
                               [-3 * np.log(2.0), -np.inf])


def test_fit_gaussian_recovers_a_tilted_normal_from_weighted_prior_draws():
    """N(0, I) draws weighted by exp(a · z) are a sample of N(a, I)."""
    rng = np.random.default_rng(3)
    latents = rng.standard_normal((40000, 3))
    shift = np.array([1.0, -0.5, 0.0])
    proposal = fit_gaussian(latents, latents @ shift, widen=1.0)
    np.testing.assert_allclose(proposal.mean, shift, atol=0.05)
    np.testing.assert_allclose(proposal.cholesky @ proposal.cholesky.T, np.eye(3), atol=0.06)


def test_fit_gaussian_falls_back_toward_the_identity_when_few_latents_count():
    latents = np.array([[5.0, 5.0], [5.01, 4.99], [-3.0, 0.0]])
    proposal = fit_gaussian(latents, np.array([0.0, 0.0, -50.0]), widen=1.0)
    covariance = proposal.cholesky @ proposal.cholesky.T
    assert np.linalg.eigvalsh(covariance).min() > 0.4  # two near-identical points, not a collapsed fit


def test_mixture_density_is_the_size_weighted_sum():
    first, second = prior_proposal("gaussian", 2), GaussianProposal(np.array([3.0, 0.0]), np.eye(2) * 0.5)
    points = np.array([[0.0, 0.0], [3.0, 0.1], [1.0, -1.0]])
    expected = np.log(0.25 * np.exp(first.log_density(points)) + 0.75 * np.exp(second.log_density(points)))
    np.testing.assert_allclose(mixture_log_density(points, [first, second], [100, 300]), expected)


def test_accept_takes_every_better_proposal_and_half_of_those_twice_less_likely():
    rng = np.random.default_rng(4)
    assert accept(np.zeros(1000), np.full(1000, -1.0), rng).all()
    assert accept(np.full(20000, -np.log(2.0)), np.zeros(20000), rng).mean() == pytest.approx(0.5, abs=0.015)
    assert not accept(np.array([-np.inf]), np.array([-np.inf]), rng)[0]
