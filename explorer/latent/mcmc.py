"""Proposals, importance mixtures and Metropolis–Hastings pieces for the sampler pools (numpy only).

The pool targets are pi(z) ∝ p(z) · vol_k(z)^rho (see `explorer.latent.sampling`). Under a
Gaussian prior, `fit_gaussian` fits a Gaussian q to latents importance-weighted toward pi
(weighted mean and covariance, the covariance shrunk toward the prior's); under the uniform
prior q is the prior itself. `explorer.pool` uses such proposals in two ways:

- adaptive importance sampling (the default): draw from q, weight by pi / Q, where Q is the
  mixture of every proposal used so far (`mixture_log_density`, deterministic-mixture
  weights), so each draw serves every target; the Kish ESS of those weights is the ESS;
- independent Metropolis–Hastings chains: propose z' from q, independent of the current
  state, and accept with probability min(1, [pi(z') / q(z')] / [pi(z) / q(z)]) (`accept`),
  so the chain's law is pi exactly; `chain_ess` measures what the chains are worth.

Why adaptive importance sampling is the default: with the same fitted Gaussians, an
independent-MH chain keeps repeating its heaviest states where importance sampling just
weights them. Measured on the fashion pack (k = 5, CPU): the adaptive pool reached ESS 703
for rho = -1 and 573 for MaGNET with 2,419 log-volumes; chains (32 per rho, 4 + 8 steps,
3,960 log-volumes) accepted 29–50% of proposals and their rungs were worth 35–67 effective
samples each of 256 steps (bulk ESS), so their best draws had ESS 117 for rho = -1 and 440
for MaGNET, the latter from the prior draws reweighted. A random walk (pCN) would be worse
still: the log-volume is steep (gradient norm about 7.7 nats per unit of z), so steps small
enough to be accepted need on the order of a hundred per independent sample; gradient moves
would need derivatives of the log-det of a Jacobian, 3 to 4 times the cost of a log-volume.

`chain_ess` is the multi-chain effective sample size of Vehtari et al. (2021; Stan's
bulk-ESS: rank-normalised, Geyer's initial monotone sequence), the smaller of its split-chain
and whole-chain estimates; it counts both the repeats of rejected steps and chains stuck
apart from one another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

# Proposal covariance = this factor² × the fitted one: slightly wider than π, so that π / q
# stays bounded in the tails a Gaussian fit underestimates.
WIDEN = 1.2


@dataclass(frozen=True)
class GaussianProposal:
    """N(mean, cov) as an independent MH proposal: samples and log densities of (N, d) latents."""

    mean: np.ndarray
    cholesky: np.ndarray  # lower-triangular L with L Lᵀ = cov

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n float32 draws of N(mean, cov)."""
        noise = rng.standard_normal((n, len(self.mean)))
        return (self.mean + noise @ self.cholesky.T).astype(np.float32)

    def log_density(self, latents: np.ndarray) -> np.ndarray:
        """log N(z; mean, cov) of each row (N,), float64."""
        centred = np.asarray(latents, dtype=np.float64) - self.mean
        whitened = np.linalg.solve(self.cholesky, centred.T)  # L⁻¹ (z − μ), (d, N)
        d = len(self.mean)
        log_det = 2.0 * np.log(np.diag(self.cholesky)).sum()
        return -0.5 * (np.sum(whitened**2, axis=0) + log_det + d * np.log(2 * np.pi))


@dataclass(frozen=True)
class UniformProposal:
    """The uniform prior on [-1, 1]^d as an independent MH proposal."""

    dim: int

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n float32 draws of uniform [-1, 1]^d."""
        return rng.uniform(-1.0, 1.0, size=(n, self.dim)).astype(np.float32)

    def log_density(self, latents: np.ndarray) -> np.ndarray:
        """-d log 2 inside the cube, -inf outside (N,)."""
        inside = np.all(np.abs(latents) <= 1.0, axis=1)
        return np.where(inside, -self.dim * np.log(2.0), -np.inf)


Proposal = GaussianProposal | UniformProposal


def prior_proposal(prior: str, d: int) -> Proposal:
    """The prior itself as a proposal: N(0, I) or uniform on [-1, 1]^d."""
    if prior == "uniform":
        return UniformProposal(d)
    if prior == "gaussian":
        return GaussianProposal(np.zeros(d), np.eye(d))
    raise ValueError(f"prior must be 'gaussian' or 'uniform', got {prior!r}")


def mixture_log_density(latents: np.ndarray, proposals: list[Proposal], sizes: list[int]) -> np.ndarray:
    """log of the mixture Σ_r (n_r / N) q_r(z) of proposals that drew n_r latents each (N,).

    Weighting every latent by target / this mixture (deterministic-mixture multiple importance
    sampling) lets draws from every proposal serve every target.
    """
    if len(proposals) != len(sizes) or not proposals or min(sizes) < 1:
        raise ValueError(f"need one positive size per proposal, got {len(proposals)} proposals and sizes {sizes}")
    log_shares = np.log(np.asarray(sizes, dtype=np.float64) / np.sum(sizes))
    terms = np.stack([share + q.log_density(latents) for share, q in zip(log_shares, proposals)])
    return special.logsumexp(terms, axis=0)


def fit_gaussian(latents: np.ndarray, log_weights: np.ndarray, widen: float = WIDEN) -> GaussianProposal:
    """A Gaussian proposal fitted to weighted latents: their mean, and their covariance shrunk to I.

    With Kish ESS e of the weights, the covariance is (e · Σ̂ + d · I) / (e + d): d prior
    pseudo-samples keep it well conditioned when e is not much larger than d. Then × widen².
    """
    latents = np.asarray(latents, dtype=np.float64)
    log_weights = np.asarray(log_weights, dtype=np.float64)
    if latents.ndim != 2 or log_weights.shape != (len(latents),) or not len(latents):
        raise ValueError(f"latents (N, d) and log_weights (N,) must match, got {latents.shape} and {log_weights.shape}")
    if not np.isfinite(log_weights).any():
        raise ValueError("log_weights are all -inf: no latent to fit a proposal to")
    weights = np.exp(log_weights - log_weights[np.isfinite(log_weights)].max())
    weights /= weights.sum()
    ess = 1.0 / np.sum(weights**2)
    mean = weights @ latents
    centred = latents - mean
    covariance = (centred * weights[:, None]).T @ centred
    d = latents.shape[1]
    shrunk = (ess * covariance + d * np.eye(d)) / (ess + d)
    return GaussianProposal(mean, np.linalg.cholesky(shrunk) * widen)


def accept(log_ratio_new: np.ndarray, log_ratio_old: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Independent-MH acceptance (C,) bool from log π/q of the proposals and of the current states."""
    with np.errstate(invalid="ignore"):  # -inf - -inf: both outside the support, keep the state
        log_alpha = np.asarray(log_ratio_new, dtype=np.float64) - np.asarray(log_ratio_old, dtype=np.float64)
    return np.log(rng.random(len(log_alpha))) < np.nan_to_num(log_alpha, nan=-np.inf)


def chain_ess(values: np.ndarray) -> float:
    """Effective sample size of one statistic over C chains of T steps, values (C, T).

    Rank-normalised draws (Vehtari et al. 2021) and Geyer's initial monotone sequence, as
    Stan's `ess_bulk`, taking the smaller of the split-chain and whole-chain estimates: on
    short chains (T of a few dozen) both overestimate a long autocorrelation, the split one
    more. At most C·T. A statistic that never varies says nothing about mixing: C·T.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] < 4 or not np.isfinite(values).all():
        raise ValueError(f"values must be finite with shape (chains, steps >= 4), got {values.shape}")
    total = values.size
    if np.ptp(values) == 0:
        return float(total)
    half = values.shape[1] // 2
    split = np.concatenate([values[:, :half], values[:, values.shape[1] - half :]])
    return float(min(_ess(_rank_normal(values)), _ess(_rank_normal(split)), total))


def _rank_normal(values: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled ranks, in the shape of `values`."""
    return special.ndtri((_ranks(values.ravel()) - 0.375) / (values.size + 0.25)).reshape(values.shape)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks from 1, ties sharing their mean rank."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    unique, inverse = np.unique(values, return_inverse=True)
    if len(unique) < len(values):
        ranks = (np.bincount(inverse, ranks) / np.bincount(inverse))[inverse]
    return ranks


def _autocovariance(chains: np.ndarray) -> np.ndarray:
    """Biased (divided by T) autocovariance of each chain at every lag, (C, T), by FFT."""
    steps = chains.shape[1]
    centred = chains - chains.mean(axis=1, keepdims=True)
    size = 1 << int(np.ceil(np.log2(2 * steps)))
    spectrum = np.fft.rfft(centred, n=size, axis=1)
    return np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=1)[:, :steps] / steps


def _ess(chains: np.ndarray) -> float:
    """Multi-chain ESS of (C, T) draws: Geyer's initial positive, monotone sequence estimator."""
    n_chains, steps = chains.shape
    acov = _autocovariance(chains)
    mean_var = acov[:, 0].mean() * steps / (steps - 1)
    var_plus = mean_var * (steps - 1) / steps
    if n_chains > 1:
        var_plus += chains.mean(axis=1).var(ddof=1)
    if var_plus <= 0:
        return float(chains.size)
    rho = 1.0 - (mean_var - acov.mean(axis=0)) / var_plus
    rho[0] = 1.0
    # Initial positive sequence: sums of pairs (even, odd lags) while they stay positive.
    t = 0
    kept = [rho[0], rho[1]] if steps > 1 else [rho[0]]
    while t < steps - 5 and rho[t + 2] + rho[t + 3] > 0:
        t += 2
        kept += [rho[t], rho[t + 1]]
    pairs = np.array(kept[: 2 * (len(kept) // 2)]).reshape(-1, 2).sum(axis=1)
    pairs = np.minimum.accumulate(pairs)  # initial monotone sequence
    tau = -1.0 + 2.0 * pairs.sum()
    tau = max(tau, 1.0 / np.log10(chains.size))
    return float(chains.size / tau)
