"""MaGNET and polarity sampling on toy generators whose manifold density is known exactly.

The generator maps a 1-D latent onto a polyline in R^2 whose segments have very different
speeds |g'(z)|, embedded in R^50 by a fixed orthonormal matrix. A prior sample lands on the
curve with arc-length density p(z) / |g'(z)|, so plain prior sampling piles up on the slow
segment (the mode), MaGNET must be uniform in arc length, and polarity with rho < 0 must
concentrate further on the slow segment.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from explorer.latent.sampling import magnet_log_weights, polarity_log_weights, resample
from explorer.pool import build_pool, build_rung_pool

SPEEDS = (0.25, 1.0, 4.0)  # segment 0 is the slowest: the mode of the output density
POOL_SIZE = 4000
DRAWS = 1000


class Polyline:
    """Latent -> piecewise-linear curve in R^50 (as 1×5×10 images), pieces of equal latent width."""

    latent_dim = 1

    def __init__(self, prior: str):
        self.prior = prior
        # On the uniform prior the pieces split [-1, 1]; on the Gaussian prior they split
        # u = Phi(z) in [0, 1], so the curve has finite length while every z is used.
        start = -1.0 if prior == "uniform" else 0.0
        self.knots = np.linspace(start, 1.0, len(SPEEDS) + 1)
        angles = np.array([0.3, 2.0, -1.2])
        velocities = np.array(SPEEDS)[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        embedding, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((50, 2)))
        self.velocities = torch.from_numpy(velocities @ embedding.T).float()  # (pieces, 50)

    def _position(self, latents: torch.Tensor) -> torch.Tensor:
        return latents if self.prior == "uniform" else torch.special.ndtr(latents)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        u = self._position(latents)
        points = sum(
            (u.clamp(low, high) - low) * velocity
            for low, high, velocity in zip(self.knots[:-1], self.knots[1:], self.velocities)
        )
        return points.reshape(-1, 1, 5, 10)

    def arc_length_fraction(self, latents: np.ndarray) -> np.ndarray:
        """Arc length from the start of the curve to each latent's point, over the total length."""
        u = self._position(torch.from_numpy(latents[:, 0]).double()).numpy()
        low, high = self.knots[:-1], self.knots[1:]
        lengths = np.clip(u[:, None], low, high) - low
        return lengths @ np.array(SPEEDS) / (np.diff(self.knots) @ np.array(SPEEDS))

    def segment(self, latents: np.ndarray) -> np.ndarray:
        u = self._position(torch.from_numpy(latents[:, 0]).double()).numpy()
        return np.clip(np.searchsorted(self.knots, u) - 1, 0, len(SPEEDS) - 1)


@pytest.fixture(scope="module", params=["uniform", "gaussian"])
def toy(request):
    generator = Polyline(request.param)
    pool = build_pool(generator, POOL_SIZE, seed=1, batch_size=1000, device="cpu", progress=False, weights_hash="toy")
    return generator, pool


def _ks_p_value(generator: Polyline, latents: np.ndarray) -> float:
    return stats.kstest(generator.arc_length_fraction(latents), "uniform").pvalue


def test_pool_log_volume_is_the_log_speed_of_the_curve(toy):
    generator, pool = toy
    z = pool.latents[:, 0].astype(np.float64)
    jacobian_of_position = np.ones_like(z) if generator.prior == "uniform" else stats.norm.pdf(z)
    expected = np.log(np.array(SPEEDS)[generator.segment(pool.latents)] * jacobian_of_position)
    np.testing.assert_allclose(pool.log_volume, expected, atol=1e-4)


def test_magnet_samples_are_uniform_in_arc_length(toy):
    generator, pool = toy
    log_weights = magnet_log_weights(pool.log_volume, pool.latents, pool.prior)
    samples = resample(pool.latents, log_weights, DRAWS, seed=2)
    assert _ks_p_value(generator, samples) > 0.01


def test_prior_samples_are_not_uniform_in_arc_length(toy):
    generator, pool = toy
    assert _ks_p_value(generator, pool.latents[:DRAWS]) < 1e-3


def test_volume_alone_is_not_uniform_under_a_gaussian_prior():
    """MaGNET must divide by the prior density: weighting by the volume only (rho = 1) is not enough."""
    generator = Polyline("gaussian")
    pool = build_pool(generator, POOL_SIZE, seed=1, batch_size=1000, device="cpu", progress=False, weights_hash="toy")
    samples = resample(pool.latents, polarity_log_weights(pool.log_volume, 1.0), DRAWS, seed=2)
    assert _ks_p_value(generator, samples) < 1e-3


def test_negative_polarity_concentrates_on_the_mode_segment_as_theory_predicts():
    generator = Polyline("uniform")
    pool = build_pool(generator, POOL_SIZE, seed=1, batch_size=1000, device="cpu", progress=False, weights_hash="toy")
    rhos = [1.0, 0.5, 0.0, -0.5, -1.0, -2.0]
    fractions = []
    for rho in rhos:
        samples = resample(pool.latents, polarity_log_weights(pool.log_volume, rho), 2000, seed=3)
        fractions.append(np.mean(generator.segment(samples) == 0))
    assert np.all(np.diff(fractions) > 0), fractions
    # Equal prior mass per segment, weight speed**rho: the mode's share is s0**rho / sum(s**rho).
    theory = [SPEEDS[0] ** rho / sum(s**rho for s in SPEEDS) for rho in rhos]
    np.testing.assert_allclose(fractions, theory, atol=0.04)


def test_mcmc_chains_on_the_polyline_give_the_theoretical_segment_shares():
    """Uniform prior: p · vol^rho puts speed_s^rho / Σ speed^rho on segment s; rho < 0 favours the slow mode."""
    generator = Polyline("uniform")
    rhos = (-1.0, 1.0)
    pool = build_rung_pool(generator, 1000, "mcmc", rhos=rhos, chains=100, steps=20, burn_in=3, weights_hash="toy",
                           k=1, device="cpu", progress=False, batch_size=1000)
    shares = {}
    for rho in rhos:
        index = next(i for i, rung in enumerate(pool.rungs) if rung.rho == rho)
        rows = np.flatnonzero(pool.rung == index)
        segments = np.repeat(generator.segment(pool.latents[rows]), pool.counts[rows])
        shares[rho] = np.bincount(segments, minlength=3) / len(segments)
        theory = np.array(SPEEDS) ** rho / sum(s**rho for s in SPEEDS)
        tolerance = 4 * np.sqrt(theory * (1 - theory) / pool.rungs[index].ess)
        assert np.all(np.abs(shares[rho] - theory) < tolerance), (rho, shares[rho], theory)
    assert shares[-1.0][0] > 1 / 3 > shares[1.0][0]


def test_magnet_chains_under_a_uniform_prior_are_uniform_in_arc_length():
    """KS at the chains' effective size: D · sqrt(ESS) under the 1% critical value 1.63."""
    generator = Polyline("uniform")
    pool = build_rung_pool(generator, 1000, "mcmc", rhos=(1.0,), chains=100, steps=20, burn_in=3, weights_hash="toy",
                           k=1, device="cpu", progress=False, batch_size=1000)
    rows = np.flatnonzero(pool.rung == 1)
    fractions = np.repeat(generator.arc_length_fraction(pool.latents[rows]), pool.counts[rows])
    assert stats.kstest(fractions, "uniform").statistic * np.sqrt(pool.rungs[1].ess) < 1.63


def test_under_a_uniform_prior_the_divided_target_is_magnet():
    pool = build_pool(Polyline("uniform"), 500, seed=0, weights_hash="toy", device="cpu", progress=False,
                      batch_size=500)
    np.testing.assert_array_equal(pool.draw("uniform-manifold", 30, seed=1)[0], pool.draw("magnet", 30, seed=1)[0])
