"""How far a model's encodings are from its prior: a latent space that drifts off the prior is one
that the decoder (trained on prior samples for a GAN, or regularised towards it for a VAE) has
not learnt, so sampled and interpolated latents decode badly there.

Priors: "gaussian" is the standard normal N(0, I); "uniform" is uniform on the cube [-1, 1]^d.

"Outside the manifold" (`manifold_report`): with D the encoded data (n, d) and d_NN(x, D) the
Euclidean distance from x to its nearest point of D (leaving x itself out when x is in D), let
t = the 95th percentile of the leave-one-out distances {d_NN(x_i, D minus x_i)}. The share outside
is P(d_NN(z, D) > t) for z drawn from the prior, estimated on a fixed number of seeded samples: the
chance that a prior sample lands farther from every encoded image than 95 % of the images are from
their own nearest neighbour. Data that filled the prior would give about 5 %.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from explorer.latent import _validate

_MARGINALS = {"gaussian": stats.norm(), "uniform": stats.uniform(loc=-1.0, scale=2.0)}
_VARIANCE = {"gaussian": 1.0, "uniform": 1.0 / 3.0}


@dataclass(frozen=True)
class NormHistogram:
    """Histogram of latent norms beside the counts the chi distribution (a Gaussian prior) expects."""

    edges: np.ndarray  # (bins + 1,)
    counts: np.ndarray  # (bins,) observed
    expected: np.ndarray  # (bins,) n * chi(d) probability of each bin


@dataclass(frozen=True)
class ManifoldReport:
    """How often prior samples fall outside the encoded data (see the module docstring)."""

    quantile: float  # the data's quantile that sets the threshold (0.95)
    threshold: float  # that quantile of the data's leave-one-out nearest-neighbour distances
    share_outside: float  # fraction of prior samples whose nearest datum is farther than the threshold
    data_distances: np.ndarray  # (n,) leave-one-out nearest-neighbour distances within the data
    prior_distances: np.ndarray  # (samples,) nearest-datum distances of the prior samples


@dataclass(frozen=True)
class PriorReport:
    """Summary of how latents (n, d) deviate from the prior."""

    prior: str
    mean: np.ndarray  # (d,) per-dimension mean; the prior's is 0
    variance: np.ndarray  # (d,) per-dimension variance (ddof=1)
    expected_variance: float  # the prior's per-dimension variance
    dead_dimensions: np.ndarray  # indices of dimensions with variance below the threshold
    marginal_ks: np.ndarray  # (d,) Kolmogorov-Smirnov statistic of each dimension vs the prior's marginal
    rms_norm: float  # sqrt(mean squared norm)
    expected_rms_norm: float  # the prior's: sqrt(d * expected_variance)
    norm_ks: float | None  # KS statistic of the norms vs chi(d); None for a uniform prior
    norm_ks_pvalue: float | None


def norm_histogram(latents: ArrayLike, *, bins: int = 30, prior: str = "gaussian", seed: int = 0,
                   prior_samples: int = 20000) -> NormHistogram:
    """Histogram of the norms of latents (n, d) against the prior's norm distribution.

    For "gaussian" that is chi(d), exactly; the norm of a uniform latent on [-1, 1]^d has no
    closed form, so its expected counts come from `prior_samples` seeded prior draws.
    """
    latents = _samples(latents)
    _check_prior(prior)
    bins = _validate.count("bins", bins)
    norms = np.linalg.norm(latents, axis=1)
    d = latents.shape[1]
    if prior == "gaussian":
        chi = stats.chi(d)
        low, high = min(norms.min(), chi.ppf(0.001)), max(norms.max(), chi.ppf(0.999))
        counts, edges = np.histogram(norms, bins=bins, range=(low, high))
        return NormHistogram(edges=edges, counts=counts, expected=len(norms) * np.diff(chi.cdf(edges)))
    draws = np.linalg.norm(_prior_draws(prior, _validate.count("prior_samples", prior_samples), d, seed), axis=1)
    low, high = min(norms.min(), draws.min()), max(norms.max(), draws.max())
    counts, edges = np.histogram(norms, bins=bins, range=(low, high))
    expected = np.histogram(draws, bins=edges)[0] * (len(norms) / len(draws))
    return NormHistogram(edges=edges, counts=counts, expected=expected)


def kl_per_dimension(mean: ArrayLike, variance: ArrayLike, prior: str = "gaussian") -> np.ndarray:
    """KL(N(mean_j, variance_j) || N(0, v)) in nats for each dimension, v the prior's per-dimension variance.

    The data's marginal is summarised by its first two moments; for a Gaussian prior this is the
    KL to the prior's marginal itself, for the uniform one to the Gaussian with the same moments.
    """
    _check_prior(prior)
    mean = _validate.latents("mean", mean, ndim=1)
    variance = _validate.latents("variance", variance, ndim=1)
    _validate.same_dim(("mean", mean), ("variance", variance))
    if (variance <= 0).any():
        raise ValueError(f"variance must be positive in every dimension, got minimum {variance.min()!r}")
    ratio = variance / _VARIANCE[prior]
    return 0.5 * (ratio + mean**2 / _VARIANCE[prior] - 1.0 - np.log(ratio))


def nearest_distances(queries: ArrayLike, data: ArrayLike, *, leave_one_out: bool = False,
                      chunk: int = 512) -> np.ndarray:
    """Euclidean distance from each query (m, d) to its nearest row of data (n, d).

    With `leave_one_out` the queries are the data themselves and row i is not its own neighbour.
    """
    queries = _validate.latents("queries", queries, ndim=2)
    data = _validate.nonempty("data", _validate.latents("data", data, ndim=2))
    _validate.same_dim(("queries", queries), ("data", data))
    if leave_one_out and (queries.shape != data.shape or len(data) < 2):
        raise ValueError(f"leave_one_out needs the data as queries and at least 2 rows, got queries "
                         f"{queries.shape} and data {data.shape}")
    chunk = _validate.count("chunk", chunk)
    data_sq = (data**2).sum(axis=1)
    out = np.empty(len(queries))
    for start in range(0, len(queries), chunk):
        block = queries[start : start + chunk]
        squared = (block**2).sum(axis=1)[:, None] - 2.0 * block @ data.T + data_sq[None, :]
        if leave_one_out:
            squared[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf
        out[start : start + len(block)] = np.sqrt(np.maximum(squared.min(axis=1), 0.0))
    return out


def manifold_report(latents: ArrayLike, prior: str = "gaussian", *, samples: int = 2000, quantile: float = 0.95,
                    seed: int = 0) -> ManifoldReport:
    """The share of `samples` prior draws outside the encoded latents (n, d), as the module docstring defines."""
    latents = _samples(latents)
    _check_prior(prior)
    quantile = _validate.scalar("quantile", quantile)
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must lie strictly between 0 and 1, got {quantile!r}")
    data_distances = nearest_distances(latents, latents, leave_one_out=True)
    threshold = float(np.quantile(data_distances, quantile))
    draws = _prior_draws(prior, _validate.count("samples", samples), latents.shape[1], seed)
    prior_distances = nearest_distances(draws, latents)
    return ManifoldReport(quantile=quantile, threshold=threshold,
                          share_outside=float(np.mean(prior_distances > threshold)),
                          data_distances=data_distances, prior_distances=prior_distances)


def percentile_of(value: float, reference: ArrayLike) -> float:
    """Where `value` falls among `reference` values: the percentage (0-100) of them at or below it."""
    reference = np.asarray(reference, dtype=float).reshape(-1)
    if reference.size == 0:
        raise ValueError("reference must hold at least one value to rank against")
    return float(100.0 * np.mean(reference <= float(value)))


def dead_dimensions(latents: ArrayLike, *, threshold: float = 0.01) -> np.ndarray:
    """Indices of dimensions whose variance across latents (n, d) is below `threshold`.

    For a VAE's posterior means these are the collapsed dimensions that the decoder ignores; the
    default 0.01 is the "active unit" cut-off of Burda et al. (2016).
    """
    latents = _samples(latents)
    threshold = _validate.scalar("threshold", threshold, positive=True)
    return np.flatnonzero(latents.var(axis=0, ddof=1) < threshold)


def prior_report(latents: ArrayLike, prior: str = "gaussian", *, dead_threshold: float = 0.01) -> PriorReport:
    """Per-dimension moments, dead dimensions and KS distances of latents (n, d) from the `prior`."""
    _check_prior(prior)
    latents = _samples(latents)
    d = latents.shape[1]
    norms = np.linalg.norm(latents, axis=1)
    norm_test = stats.ks_1samp(norms, stats.chi(d).cdf) if prior == "gaussian" else None
    return PriorReport(
        prior=prior,
        mean=latents.mean(axis=0),
        variance=latents.var(axis=0, ddof=1),
        expected_variance=_VARIANCE[prior],
        dead_dimensions=dead_dimensions(latents, threshold=dead_threshold),
        marginal_ks=np.atleast_1d(stats.ks_1samp(latents, _MARGINALS[prior].cdf, axis=0).statistic),
        rms_norm=float(np.sqrt(np.mean(norms**2))),
        expected_rms_norm=float(np.sqrt(d * _VARIANCE[prior])),
        norm_ks=None if norm_test is None else float(norm_test.statistic),
        norm_ks_pvalue=None if norm_test is None else float(norm_test.pvalue),
    )


def _check_prior(prior: str) -> None:
    if prior not in _MARGINALS:
        raise ValueError(f"prior must be one of {tuple(_MARGINALS)}, got {prior!r}")


def _prior_draws(prior: str, n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(_validate.count("seed", seed, minimum=0))
    return rng.standard_normal((n, d)) if prior == "gaussian" else rng.uniform(-1.0, 1.0, (n, d))


def _samples(latents: ArrayLike) -> np.ndarray:
    latents = _validate.latents("latents", latents, ndim=2)
    if len(latents) < 2:
        raise ValueError(f"latents must hold at least 2 latents to measure spread, got shape {latents.shape}")
    return latents
