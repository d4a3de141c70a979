"""Adaptive and MCMC sampler pools on toy decoders whose targets are known exactly.

`ExpAxis` stretches the first latent exponentially: g(z) = (exp(b z_0), z_1, z_2) in R^12, so
log vol(z) = log b + b z_0 and p(z) · vol(z)^rho is N(rho · b · e_0, I), restricted (as all
pool targets are) to the ball holding 99.9% of the prior. The log-volume spreads by b nats
over the prior, so plain prior draws reweighted to rho = ±1 keep about exp(-b²) of
themselves: the collapse the adaptive pool must avoid.
"""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pytest
import torch
from scipy import stats

from explorer.latent.sampling import support_radius, top_k_log_volume
from explorer.pool import SamplerPool, build_pool, build_rung_pool, ess_warning, sampler_draw

STRETCH = 2.0
EMBEDDING = torch.from_numpy(np.linalg.qr(np.random.default_rng(0).standard_normal((12, 3)))[0]).float()


class ExpAxis:
    """Latent (N, 3) -> (N, 1, 3, 4): the first coordinate stretched exponentially, then a fixed rotation."""

    latent_dim, prior = 3, "gaussian"

    def __init__(self, stretch: float = STRETCH):
        self.stretch = stretch

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        coordinates = torch.cat([torch.exp(self.stretch * latents[:, :1]), latents[:, 1:]], dim=1)
        return (coordinates @ EMBEDDING.T).reshape(-1, 1, 3, 4)


def _exact_target_draws(rho: float, stretch: float, n: int, seed: int) -> np.ndarray:
    """Exact draws of N(rho · stretch · e_0, I) restricted to the support ball, by rejection."""
    rng = np.random.default_rng(seed)
    draws = rng.standard_normal((4 * n, 3)) + np.array([rho * stretch, 0.0, 0.0])
    inside = draws[np.sum(draws**2, axis=1) <= support_radius(3) ** 2]
    return inside[:n]


BUILD = {"weights_hash": "toy", "k": 3, "device": "cpu", "progress": False, "batch_size": 512}


@pytest.fixture(scope="module")
def adaptive() -> SamplerPool:
    return build_rung_pool(ExpAxis(), 1024, "adaptive", rhos=(-1.0, -0.5, 0.5, 1.0), draws=512, **BUILD)


@pytest.fixture(scope="module")
def chains() -> SamplerPool:
    return build_rung_pool(ExpAxis(1.0), 512, "mcmc", rhos=(-1.0, 1.0), chains=64, steps=24, burn_in=4, **BUILD)


@pytest.mark.parametrize(("sampler", "rho"), [("magnet", 1.0), ("polarity", -1.0), ("polarity", -0.5),
                                              ("polarity", 0.5), ("polarity", 1.0)])
def test_adaptive_pool_draws_of_200_have_an_ess_of_at_least_200(adaptive, sampler, rho):
    latents, ess = adaptive.draw(sampler, 200, seed=0, rho=rho)
    assert len({row.tobytes() for row in latents}) == 200
    assert ess >= 200


def test_prior_draws_of_as_many_log_volumes_collapse_on_the_same_toy(adaptive):
    """The control: an importance pool as costly as the adaptive one cannot draw 200 fairly at rho = ±1."""
    measured = adaptive.build["log_volumes_measured"]
    pool = build_pool(ExpAxis(), measured, seed=0, **BUILD)
    for rho in (-1.0, 1.0):
        assert pool.draw("polarity", 200, seed=0, rho=rho)[1] < 200


@pytest.mark.parametrize("rho", [-1.0, 1.0])
def test_adaptive_pool_draws_follow_the_known_target(adaptive, rho):
    latents, _ = adaptive.draw("polarity", 200, seed=1, rho=rho)
    exact = _exact_target_draws(rho, STRETCH, 4000, seed=2)
    for axis in range(3):
        assert stats.ks_2samp(latents[:, axis], exact[:, axis]).pvalue > 0.01


@pytest.mark.parametrize("rho", [-1.0, 1.0])
def test_mcmc_chains_have_the_known_target_moments(chains, rho):
    index = next(i for i, rung in enumerate(chains.rungs) if rung.kind == "chains" and rung.rho == rho)
    rows = np.flatnonzero(chains.rung == index)
    steps = np.repeat(chains.latents[rows].astype(np.float64), chains.counts[rows], axis=0)
    exact = _exact_target_draws(rho, 1.0, 200000, seed=3)
    ess = chains.rungs[index].ess
    assert ess > 100
    for axis in range(3):
        error = abs(steps[:, axis].mean() - exact[:, axis].mean())
        assert error < 4 * exact[:, axis].std() / np.sqrt(ess), (axis, error, ess)
    np.testing.assert_allclose(steps.var(axis=0), exact.var(axis=0), rtol=0.25)


def test_top_k_volume_with_k_equal_to_d_is_the_full_volume(adaptive):
    np.testing.assert_allclose(top_k_log_volume(adaptive.log_singular_values, 3), adaptive.log_volume, atol=1e-4)
    np.testing.assert_array_equal(adaptive.log_volume_k(3), adaptive.log_volume)
    # The other two singular values are 1, so the largest one is max(b · exp(b z_0), 1).
    np.testing.assert_allclose(adaptive.log_volume_k(1), np.maximum(adaptive.log_volume, 0.0), atol=1e-4)


def test_an_adaptive_pool_round_trips_through_its_file(adaptive, tmp_path):
    adaptive.save(tmp_path / "pool.npz")
    loaded = SamplerPool.load(tmp_path / "pool.npz", weights_hash="toy")
    for name in ("latents", "log_volume", "log_singular_values", "log_source", "counts", "rung"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(adaptive, name))
    np.testing.assert_equal([astuple(r) for r in loaded.rungs], [astuple(r) for r in adaptive.rungs])  # nan == nan
    assert loaded.build == adaptive.build
    assert (loaded.method, loaded.k) == ("adaptive", 3)
    assert loaded.draw("magnet", 50, seed=4)[1] == pytest.approx(adaptive.draw("magnet", 50, seed=4)[1])


def test_a_pool_file_from_before_rungs_still_loads_and_draws(tmp_path):
    rng = np.random.default_rng(5)
    latents = rng.standard_normal((300, 4)).astype(np.float32)
    np.savez(tmp_path / "old.npz", latents=latents, log_volume=rng.normal(0, 1, 300), prior=np.array("gaussian"),
             seed=np.array(0), weights_hash=np.array("w"))
    pool = SamplerPool.load(tmp_path / "old.npz", weights_hash="w")
    assert pool.default_k == 4 and len(pool.rungs) == 1 and pool.rungs[0].kind == "prior"
    latents_drawn, ess = pool.draw("polarity", 20, seed=0, rho=0.5)
    assert latents_drawn.shape == (20, 4) and 1 <= ess <= 300
    with pytest.raises(ValueError, match="k=2.*rebuild"):
        pool.draw("magnet", 20, seed=0, k=2)


def test_sampler_draw_warns_in_words_only_when_the_ess_is_under_the_draw(adaptive):
    fair = sampler_draw(adaptive, "magnet", 100, seed=0)
    assert fair.ess >= 100 and fair.warning == "" and fair.latents.shape == (100, 3)
    unfair = sampler_draw(adaptive, "polarity", 100, seed=0, rho=3.0)
    assert unfair.ess < 100
    assert f"{unfair.ess:.0f}" in unfair.warning and "100" in unfair.warning
    assert ess_warning(250.0, 200) == ""
