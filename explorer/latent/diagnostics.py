"""How far a model's encodings are from its prior: a latent space that drifts off the prior is one
that the decoder (trained on prior samples for a GAN, or regularised towards it for a VAE) has
not learnt, so sampled and interpolated latents decode badly there.

Priors: "gaussian" is the standard normal N(0, I); "uniform" is uniform on the cube [-1, 1]^d.
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


def norm_histogram(latents: ArrayLike, *, bins: int = 30) -> NormHistogram:
    """Histogram of the norms of latents (n, d) against chi(d), the norm distribution of N(0, I)."""
    latents = _samples(latents)
    bins = _validate.count("bins", bins)
    norms = np.linalg.norm(latents, axis=1)
    chi = stats.chi(latents.shape[1])
    low, high = min(norms.min(), chi.ppf(0.001)), max(norms.max(), chi.ppf(0.999))
    counts, edges = np.histogram(norms, bins=bins, range=(low, high))
    return NormHistogram(edges=edges, counts=counts, expected=len(norms) * np.diff(chi.cdf(edges)))


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
    if prior not in _MARGINALS:
        raise ValueError(f"prior must be one of {tuple(_MARGINALS)}, got {prior!r}")
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


def _samples(latents: ArrayLike) -> np.ndarray:
    latents = _validate.latents("latents", latents, ndim=2)
    if len(latents) < 2:
        raise ValueError(f"latents must hold at least 2 latents to measure spread, got shape {latents.shape}")
    return latents
