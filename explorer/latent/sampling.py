"""Prior sampling and on-manifold sampling: MaGNET and polarity sampling (numpy only).

Notation. The decoder g: R^d -> R^D has Jacobian J(z) with singular values
sigma_1(z) >= ... >= sigma_d(z). Its volume is vol(z) = sqrt(det(JᵀJ)) = prod_i sigma_i(z)
and its top-k volume vol_k(z) = prod_{i <= k} sigma_i(z) (vol_d = vol). Where g is
one-to-one, a latent density q(z) becomes the density q(z) / vol(z) on the decoder's manifold
G = g(support) (with respect to G's own d-dimensional volume). `explorer.models.jacobian`
measures the log singular values exactly; pools store them sorted, so any k is a sum.

The samplers, as latent target densities up to a constant (p is the untruncated prior):

- prior: p(z). On G this is p(z) / vol(z): it piles up where the decoder contracts.
- MaGNET, as the authors run it ("magnet"; Humayun, Balestriero, Baraniuk, ICLR 2022, and
  the rho = 1 case of polarity sampling): p(z) · vol_k(z). On G the density is
  p(z) · vol_k(z) / vol(z), which for k = d is p(z): the prior's density carried onto the
  manifold without the Jacobian's distortion (under the uniform prior: uniform on
  G([-1, 1]^d)). k defaults per pack to the number of active latent dimensions
  (`active_dimensions`: a VAE's inactive units have singular values at numerical noise
  level, which would otherwise dominate the volume), capped as said below (`capped_k`);
  the user may set any k. The authors' code keeps 10 to 30 of StyleGAN's 512.
- uniform on G(support), the literal reading ("uniform-manifold", ÷ prior): vol_k(z) on the
  prior's support, uniform on G for k = d. Under the uniform prior it is MaGNET. Under a
  Gaussian prior G(R^d) may have infinite volume, and on the support ball below the factor
  1 / p = exp(|z|²/2) · const puts the mass at the ball's rim; it is kept, drawn by
  importance weights from the pool, with the effective sample size that shows how (un)fair
  the draw is. `magnet_log_weights` is its weight on prior draws with the full volume.
- polarity sampling ("polarity"; Humayun et al., CVPR 2022): p(z) · vol_k(z)^rho on the same
  top-k volume. rho < 0 moves toward the modes of the output density (quality), rho > 0
  toward its anti-modes (diversity); rho = 0 is the prior and rho = 1 MaGNET.

Where they live. Under a Gaussian prior every pool target is restricted to the ball
|z|² <= χ²_d quantile SUPPORT_MASS (99.9% of the prior; `in_support`). Outside it the
decoders saturate and their volume falls toward 0 faster than float32 Jacobians resolve:
log-volumes down to -185 nats were measured on the fashion decoder at |z| ≈ 17, where
p · vol^rho with rho < 0 would put nearly all its mass. Prior draws seldom leave the ball, so
this is also what sampling a finite prior pool, as the authors do, amounts to.

How they are drawn: `explorer.pool` keeps latents with their log singular values in rungs of
known law (prior draws, importance draws from proposals fitted to the targets, or MH chains;
`explorer.latent.mcmc`). A draw for any (sampler, rho, k) reweights a rung by target / law
(`target_log_density`, `best_rung`) and resamples it.

The default k and why it is capped. The spread of log vol_k over the prior grows about
linearly with k, because the singular values rise and fall together (std over prior draws,
nats: emoji 0.9 at k = 4, 1.8 at 8, 3.7 at 16, 6.3 at 26 = its active dimensions; fashion
1.0 at 4, 2.0 at 8, 4.2 at 16 = d). Beyond about 2 nats the rho < 0 targets put most of
their mass in small regions where the top singular values collapse (on fashion, a tail of
one latent coordinate with log vol_8 down to -15, against -1.2 over 1,024 prior draws), which
four adaptive rounds did not cover (ESS 4 of 5,643 at k = 8; 570 at k = 6). So `capped_k`
takes the active dimensions but no more than keep the spread within MAX_SPREAD = 1.5 nats;
a larger k stays available to any draw, with the ESS to judge it by.

Weights are kept in log space throughout; resampling uses a stable softmax (with replacement)
or Gumbel top-k (without). A reweighted draw is fair only while its effective sample size is
well above the number drawn: under a Gaussian prior in many dimensions, the ÷ prior factor
exp(|z|²/2) alone spans many orders of magnitude across prior draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

PRIORS = ("gaussian", "uniform")
SAMPLERS = ("prior", "magnet", "uniform-manifold", "polarity")
# Under a Gaussian prior the pool targets live in the ball holding this much of its mass.
SUPPORT_MASS = 0.999
# Default top-k: no more singular values than keep log vol_k's spread over the prior within this
# many nats (standard deviation); beyond, reweighting prior draws collapses (see `capped_k`).
MAX_SPREAD = 1.5
# Active latent dimensions: posterior means varying over held-out data by more than this
# (Burda, Grosse, Salakhutdinov 2016).
ACTIVE_VARIANCE = 0.01


@dataclass(frozen=True)
class Target:
    """A sampler's latent target p(z)^(0 if divide_prior else 1) · vol_k(z)^rho on the prior's support."""

    rho: float
    k: int
    divide_prior: bool = False


def sampler_target(sampler: str, rho: float, k: int) -> Target:
    """The target of `sampler` (one of SAMPLERS); `rho` is used by "polarity" only."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    _check_count(k, "k")
    if sampler == "polarity" and not np.isfinite(rho):
        raise ValueError(f"rho must be a finite number, got {rho!r}")
    return {
        "prior": Target(0.0, k),
        "magnet": Target(1.0, k),
        "uniform-manifold": Target(1.0, k, divide_prior=True),
        "polarity": Target(float(rho), k),
    }[sampler]


def sampler_description(sampler: str, rho: float, k: int, d: int, prior: str) -> str:
    """One plain sentence or two on what `sampler` draws, for the Sampling view (see the module doc)."""
    target = sampler_target(sampler, rho, k)
    p = "N(0, I)" if prior == "gaussian" else "uniform on [-1, 1]^d"
    top = f"the top {k} of {d} singular values" if k < d else f"all {d} singular values"
    if sampler == "prior":
        return (f"Prior: latents z ~ p(z) = {p}. On the decoder's manifold their density is p(z) / vol(z), "
                "so images pile up where the decoder contracts.")
    if sampler == "magnet":
        rest = ("the prior's own density, free of the decoder's stretching" if k == d else
                f"the prior's density, still distorted by the {d - k} smallest singular values")
        return (f"MaGNET as its authors run it: z ∝ p(z) · vol_k(z), the volume of {top}. On the manifold "
                f"the density is p(z) · vol_k(z) / vol(z): {rest}.")
    if sampler == "uniform-manifold":
        if prior == "uniform":
            return f"Uniform on the manifold (÷ prior): z ∝ vol_k(z) on [-1, 1]^d with {top}; here the same as MaGNET."
        return (f"Uniform on the manifold, read literally (÷ prior): z ∝ vol_k(z) on the prior's support with {top}. "
                "Its weight 1 / p(z) favours the rim of that support, which few pool latents reach: "
                "watch its effective sample size.")
    if target.rho == 0:
        return f"Polarity ρ = 0: the prior, z ~ p(z) = {p}."
    direction = ("toward the modes of the output density (quality)" if target.rho < 0
                 else "toward the anti-modes of the output density (diversity)")
    return f"Polarity ρ = {target.rho:g}: z ∝ p(z) · vol_k(z)^ρ with {top}, which moves {direction}."


def sample_prior(prior: str, n: int, d: int, seed: int, truncation: float | None = None) -> np.ndarray:
    """Draw n float32 latents of size d from the prior; truncation resamples components beyond ±t.

    The truncation trick resamples (not clips) each Gaussian component with |z| > t until it
    lies inside, giving exactly the normal distribution truncated to [-t, t]; clipping would
    pile mass on the boundary. For the uniform prior on [-1, 1]^d a truncation t < 1 gives uniform on
    [-t, t]^d, and t >= 1 changes nothing.
    """
    _check_prior(prior)
    _check_count(n, "n")
    _check_count(d, "d")
    if truncation is not None and not (np.isfinite(truncation) and truncation > 0):
        raise ValueError(f"truncation must be a positive finite number or None, got {truncation!r}")
    rng = np.random.default_rng(seed)
    if prior == "uniform":
        bound = 1.0 if truncation is None else min(float(truncation), 1.0)
        return rng.uniform(-bound, bound, size=(n, d)).astype(np.float32)
    if truncation is None:
        return rng.standard_normal((n, d)).astype(np.float32)
    return _truncated_normal(rng, n * d, float(truncation)).reshape(n, d).astype(np.float32)


def _truncated_normal(rng: np.random.Generator, size: int, bound: float) -> np.ndarray:
    """Exact draws of N(0, 1) restricted to [-bound, bound], by rejection.

    Normal proposals are kept when inside; below bound 1 that wastes most of them, so uniform
    proposals on [-bound, bound] are kept with probability exp(-z²/2) instead. Either way at
    least 60% are kept, so the loop ends quickly for any bound.
    """
    values = np.empty(size)
    missing = np.arange(size)
    while len(missing):
        if bound < 1.0:
            proposals = rng.uniform(-bound, bound, len(missing))
            kept = rng.random(len(missing)) < np.exp(-0.5 * proposals**2)
        else:
            proposals = rng.standard_normal(len(missing))
            kept = np.abs(proposals) <= bound
        values[missing[kept]] = proposals[kept]
        missing = missing[~kept]
    return values


def prior_log_density(latents: np.ndarray, prior: str) -> np.ndarray:
    """Log density of each latent under the untruncated prior (N,), float64."""
    _check_prior(prior)
    latents = _check_latents(latents)
    d = latents.shape[1]
    if prior == "gaussian":
        return -0.5 * np.sum(latents**2, axis=1) - 0.5 * d * np.log(2 * np.pi)
    inside = np.all(np.abs(latents) <= 1.0, axis=1)
    return np.where(inside, -d * np.log(2.0), -np.inf)


def top_k_log_volume(log_singular_values: np.ndarray, k: int) -> np.ndarray:
    """log vol_k: the sum of each row's k largest log singular values (rows sorted largest first), float64."""
    values = np.asarray(log_singular_values)
    if values.ndim != 2 or not len(values):
        raise ValueError(f"log_singular_values must have shape (N, d), got {values.shape}")
    _check_count(k, "k")
    if k > values.shape[1]:
        raise ValueError(f"k={k} singular values asked for, but the latents have only d={values.shape[1]}")
    return values[:, :k].sum(axis=1, dtype=np.float64)


def active_dimensions(latents: np.ndarray, threshold: float = ACTIVE_VARIANCE) -> int:
    """Latent dimensions whose encoded held-out latents vary with variance above `threshold` (at least 1)."""
    latents = _check_latents(latents)
    if len(latents) < 2:
        raise ValueError(f"active dimensions need at least 2 encoded latents, got {len(latents)}")
    return max(1, int(np.sum(latents.var(axis=0) > threshold)))


def support_radius(d: int) -> float:
    """Radius of the ball holding SUPPORT_MASS of the d-dimensional standard normal: sqrt of its χ²_d quantile."""
    _check_count(d, "d")
    return float(np.sqrt(stats.chi2.ppf(SUPPORT_MASS, d)))


def in_support(latents: np.ndarray, prior: str) -> np.ndarray:
    """Whether each latent lies where the pool targets live: [-1, 1]^d, or the Gaussian's SUPPORT_MASS ball (N,)."""
    _check_prior(prior)
    latents = _check_latents(latents)
    if prior == "uniform":
        return np.all(np.abs(latents) <= 1.0, axis=1)
    return np.sum(np.square(latents, dtype=np.float64), axis=1) <= support_radius(latents.shape[1]) ** 2


def capped_k(active: int, log_singular_values: np.ndarray, max_spread: float = MAX_SPREAD) -> int:
    """The default top-k: the largest k <= active whose log vol_k spreads over prior draws by at most max_spread.

    `log_singular_values` are of i.i.d. prior draws. The spread grows about linearly with k
    (the singular values rise and fall together), and an importance weight vol_k^rho with
    spread s keeps a share of roughly exp(-(rho · s)²) of the draws as effective samples; at
    least 1.
    """
    values = np.asarray(log_singular_values, dtype=np.float64)
    if values.ndim != 2 or len(values) < 2:
        raise ValueError(f"log_singular_values must be (N >= 2, d), got {values.shape}")
    if not 1 <= active <= values.shape[1]:
        raise ValueError(f"active must lie in [1, {values.shape[1]}], got {active}")
    spreads = np.cumsum(values, axis=1).std(axis=0)
    fitting = np.flatnonzero(spreads[:active] <= max_spread)
    return int(fitting[-1] + 1) if len(fitting) else 1


def target_log_density(latents: np.ndarray, log_volume_k: np.ndarray, prior: str, target: Target) -> np.ndarray:
    """log of the target density (up to a constant) at each latent: rho · log vol_k (+ log p unless ÷ prior).

    -inf outside `in_support`; `log_volume_k` must be the top-`target.k` log-volume.
    """
    inside = in_support(latents, prior)
    log_volume_k = _check_log_volume(log_volume_k, len(inside))
    base = 0.0 if target.divide_prior else prior_log_density(latents, prior)
    return np.where(inside, base + target.rho * log_volume_k, -np.inf)


def magnet_log_weights(log_volume: np.ndarray, latents: np.ndarray, prior: str) -> np.ndarray:
    """Literal ÷ prior log-weights log_volume − log p(z) of prior draws: uniform on the manifold."""
    latents = _check_latents(latents)
    log_volume = _check_log_volume(log_volume, len(latents))
    log_density = prior_log_density(latents, prior)
    if not np.isfinite(log_density).all():
        raise ValueError("latents lie outside the uniform prior's support [-1, 1]^d, so they were not drawn from it")
    return log_volume - log_density


def polarity_log_weights(log_volume: np.ndarray, rho: float) -> np.ndarray:
    """Polarity log-weights rho · log_volume: rho < 0 toward modes (quality), rho > 0 toward anti-modes."""
    log_volume = _check_log_volume(log_volume)
    if not np.isfinite(rho):
        raise ValueError(f"rho must be a finite number, got {rho!r}")
    return float(rho) * log_volume


def resample(
    latents: np.ndarray, log_weights: np.ndarray, n: int, seed: int, replace: bool = True
) -> np.ndarray:
    """Importance-resample n rows of latents with probability ∝ exp(log_weights); returns the rows.

    With replacement the draws are i.i.d. from the weighted pool (sampling-importance-resampling).
    Without replacement (distinct latents, as a grid of tiles wants) rows are drawn one after
    another ∝ weight among those left, via Gumbel top-k; this departs from the target only
    when n is not small against `effective_sample_size(log_weights)`.
    A weight of -inf means probability zero.
    """
    latents = _check_latents(latents)
    log_weights = _check_log_weights(log_weights, len(latents))
    return latents[resample_rows(log_weights, n, np.random.default_rng(seed), replace)].copy()


def resample_rows(log_weights: np.ndarray, n: int, rng: np.random.Generator, replace: bool = True) -> np.ndarray:
    """Row indices (n,) drawn ∝ exp(log_weights) as `resample` draws them, from generator `rng`."""
    log_weights = _check_log_weights(log_weights)
    _check_count(n, "n")
    if replace:
        probabilities = np.exp(log_weights - log_weights.max())
        return rng.choice(len(log_weights), size=n, p=probabilities / probabilities.sum())
    possible = int(np.isfinite(log_weights).sum())
    if n > possible:
        raise ValueError(
            f"n={n} distinct draws asked from a pool with {possible} latents of non-zero weight; "
            "draw fewer, use replace=True, or build a larger pool"
        )
    keys = log_weights + rng.gumbel(size=len(log_weights))
    indices = np.argpartition(-keys, n - 1)[:n]
    return indices[np.argsort(-keys[indices])]


def best_rung(
    target_log: np.ndarray, log_source: np.ndarray, counts: np.ndarray, rung: np.ndarray, efficiency: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Of the rungs of a pool, the one whose reweighting to a target keeps the most effective samples.

    Row i of rung r = rung[i] was drawn from a law of log density log_source[i] and counts
    counts[i] times; efficiency[r] is the rung's own ESS over its size (1 for i.i.d. draws).
    Reweighting rung r by target / source gives ESS efficiency[r] · Kish(weights, counts).
    Returns that rung's rows, their log-weights (log counts included, ready for `resample_rows`),
    the ESS and the rung's index.
    """
    best = None
    for index, rate in enumerate(np.asarray(efficiency, dtype=np.float64)):
        rows = np.flatnonzero(rung == index)
        log_weights = target_log[rows] - log_source[rows]
        if not len(rows) or not np.isfinite(log_weights).any():
            continue
        ess = float(rate) * effective_sample_size(log_weights, counts[rows])
        if best is None or ess > best[2]:
            best = (rows, log_weights + np.log(counts[rows]), ess, index)
    if best is None:
        raise ValueError("no pool latent has a non-zero weight under this sampler")
    return best


def effective_sample_size(log_weights: np.ndarray, counts: np.ndarray | None = None) -> float:
    """Kish effective sample size (Σ c·w)² / Σ c·w² of the weights, each row counted c times (default 1)."""
    log_weights = _check_log_weights(log_weights)
    log_counts = 0.0 if counts is None else np.log(_check_counts(counts, len(log_weights)))
    return float(np.exp(2 * _logsumexp(log_weights + log_counts) - _logsumexp(2 * log_weights + log_counts)))


def _logsumexp(values: np.ndarray) -> float:
    top = values.max()
    return float(top + np.log(np.sum(np.exp(values - top))))


def _check_prior(prior: str) -> None:
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")


def _check_count(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_counts(counts: np.ndarray, n: int) -> np.ndarray:
    counts = np.asarray(counts)
    if counts.shape != (n,) or not np.issubdtype(counts.dtype, np.integer) or counts.min(initial=1) < 1:
        raise ValueError(f"counts must be ({n},) positive integers, got shape {counts.shape}, dtype {counts.dtype}")
    return counts


def _check_latents(latents: np.ndarray) -> np.ndarray:
    latents = np.asarray(latents)
    if latents.ndim != 2 or latents.shape[0] == 0 or latents.shape[1] == 0:
        raise ValueError(f"latents must have shape (N, d) with N, d >= 1, got {latents.shape}")
    if not np.issubdtype(latents.dtype, np.number) or not np.isfinite(latents).all():
        raise ValueError("latents must be numeric and finite (no NaN or inf)")
    return latents


def _check_log_vector(values: np.ndarray, name: str, n: int | None) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) == 0 or (n is not None and len(values) != n):
        want = "(N,)" if n is None else f"({n},) to match latents"
        raise ValueError(f"{name} must have shape {want}, got {values.shape}")
    return values


def _check_log_volume(log_volume: np.ndarray, n: int | None = None) -> np.ndarray:
    log_volume = _check_log_vector(log_volume, "log_volume", n)
    if not np.isfinite(log_volume).all():
        raise ValueError("log_volume must be finite (no NaN or inf); recompute the pool")
    return log_volume


def _check_log_weights(log_weights: np.ndarray, n: int | None = None) -> np.ndarray:
    log_weights = _check_log_vector(log_weights, "log_weights", n)
    if np.isnan(log_weights).any() or np.isposinf(log_weights).any():
        raise ValueError("log_weights must not contain NaN or +inf (-inf, weight zero, is allowed)")
    if np.isneginf(log_weights).all():
        raise ValueError("log_weights are all -inf: every weight is zero, nothing can be drawn")
    return log_weights
