"""The rungs of a sampler pool, measured on a decoder: prior draws, importance draws, or MH chains.

Every rung is a set of latents with their exact decoder log-volumes and log singular values
(`explorer.models.jacobian`, batched on the decoder's device), the log density (up to a
constant of the rung) of the law each latent was drawn from, how many times each counts, and
the rung's effective sample size before any reweighting:

- `prior_rung`: i.i.d. prior draws; law p(z); ESS = their number.
- `importance_rung`: i.i.d. draws from a proposal q fitted to p · vol_k^rho; law q(z); ESS =
  their number (the importance weights that a draw applies then cost what they cost).
- `chain_rung`: independent Metropolis–Hastings chains with that proposal; law
  p · vol_k^rho itself; kept as distinct states with how many steps each was held; ESS =
  the chains' bulk ESS (`explorer.latent.mcmc.chain_ess`), the smallest over log vol_k and
  every latent coordinate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from explorer.latent.mcmc import Proposal, accept, chain_ess
from explorer.latent.sampling import (
    Target,
    in_support,
    prior_log_density,
    resample_rows,
    sample_prior,
    target_log_density,
    top_k_log_volume,
)
from explorer.models.jacobian import log_volume as decoder_log_volume

Measure = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True, eq=False)
class RungSamples:
    """A rung's latents (M, d) float32, full log-volumes (M,), log singular values (M, d) float32
    (largest first), log density of their law (M,), counts (M,) int32, ESS and MH acceptance."""

    latents: np.ndarray
    log_volume: np.ndarray
    log_singular_values: np.ndarray
    log_source: np.ndarray
    counts: np.ndarray
    ess: float
    acceptance: float = float("nan")

    @property
    def size(self) -> int:
        """Draws or chain steps the rung stands for (Σ counts)."""
        return int(self.counts.sum())


def decoder_measure(decode: Callable, device: torch.device, batch_size: int,
                    advance: Callable[[int], object] = lambda count: None) -> Measure:
    """latents (N, d) float32 -> (log-volume (N,) float64, log singular values (N, d) float32) on `device`.

    `advance` hears each batch's size (a progress bar).
    """

    def measure(latents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        volumes, singular = [], []
        for start in range(0, len(latents), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(latents[start : start + batch_size])).to(device)
            volume, log_sv = decoder_log_volume(decode, batch, batch_size=batch_size, return_singular_values=True)
            volumes.append(volume.cpu().numpy())
            singular.append(log_sv.cpu().numpy().astype(np.float32))
            advance(len(batch))
        return np.concatenate(volumes), np.concatenate(singular)

    return measure


def prior_rung(measure: Measure, prior: str, n: int, d: int, seed: int) -> RungSamples:
    """n i.i.d. prior latents (from `sample_prior(prior, n, d, seed)`) and their measurements."""
    latents = sample_prior(prior, n, d, seed)
    volume, log_sv = measure(latents)
    return RungSamples(latents, volume, log_sv, prior_log_density(latents, prior), np.ones(n, np.int32), float(n))


def importance_rung(measure: Measure, prior: str, proposal: Proposal, n: int, rng: np.random.Generator) -> RungSamples:
    """n i.i.d. draws of `proposal`, measured; those outside the prior's support (weight 0) are dropped."""
    latents = proposal.sample(n, rng)
    latents = latents[in_support(latents, prior)]
    if not len(latents):
        raise ValueError("every proposed latent fell outside the prior's support; the proposal does not fit it")
    volume, log_sv = measure(latents)
    return RungSamples(latents, volume, log_sv, proposal.log_density(latents), np.ones(len(latents), np.int32),
                       float(n))


def chain_rung(
    measure: Measure,
    prior: str,
    rho: float,
    k: int,
    proposal: Proposal,
    starts: RungSamples,
    steps: int,
    burn_in: int,
    rng: np.random.Generator,
) -> RungSamples:
    """One independent-MH chain per row of `starts` on p(z) · vol_k(z)^rho with `proposal`.

    `burn_in` steps are run and dropped, then `steps` are kept. Start the chains near the
    target (e.g. distinct latents resampled toward it) so that a short burn-in is enough.
    """

    target = Target(rho, k)

    def log_target(latents: np.ndarray, log_sv: np.ndarray) -> np.ndarray:
        return target_log_density(latents, top_k_log_volume(log_sv, k), prior, target)

    state = (starts.latents.copy(), starts.log_volume.copy(), starts.log_singular_values.copy())
    ratio = log_target(state[0], state[2]) - proposal.log_density(state[0])
    for _ in range(burn_in):
        state, ratio, _ = _step(measure, prior, proposal, log_target, state, ratio, rng)
    # Kept steps: each distinct state gets an id; ids[c, t] is the state chain c holds at step t.
    blocks = [state]
    current = np.arange(len(ratio))
    ids = np.empty((len(ratio), steps), dtype=np.int64)
    accepted_total = 0
    for t in range(steps):
        state, ratio, accepted = _step(measure, prior, proposal, log_target, state, ratio, rng)
        current = current.copy()
        current[accepted] = sum(len(block[0]) for block in blocks) + np.arange(int(accepted.sum()))
        blocks.append(tuple(part[accepted] for part in state))
        ids[:, t] = current
        accepted_total += int(accepted.sum())
    latents, volume, log_sv = (np.concatenate(parts) for parts in zip(*blocks))
    counts = np.bincount(ids.ravel(), minlength=len(latents))
    statistics = [top_k_log_volume(log_sv, k)] + list(latents.T)
    ess = min(chain_ess(statistic[ids]) for statistic in statistics)
    held = counts > 0  # a starting state replaced at the first kept step is not a kept sample
    return RungSamples(
        latents[held], volume[held], log_sv[held], log_target(latents[held], log_sv[held]),
        counts[held].astype(np.int32), ess, accepted_total / ids.size,
    )


def chain_starts(source: RungSamples, log_weights: np.ndarray, chains: int, rng: np.random.Generator) -> RungSamples:
    """`chains` distinct rows of `source` drawn ∝ exp(log_weights) (counts included by the caller)."""
    if chains > int(np.isfinite(log_weights).sum()):
        raise ValueError(f"{chains} chains need as many distinct starting latents; the source rung has fewer")
    rows = resample_rows(log_weights, chains, rng, replace=False)
    return RungSamples(source.latents[rows], source.log_volume[rows], source.log_singular_values[rows],
                       source.log_source[rows], np.ones(chains, np.int32), float(chains))


def _step(measure, prior, proposal, log_target, state, ratio, rng):
    """One independent-MH step of every chain: propose, measure, accept or keep."""
    proposed = proposal.sample(len(ratio), rng)
    inside = in_support(proposed, prior)  # outside, the target is 0: rejected without measuring
    volume = np.zeros(len(proposed))
    log_sv = np.zeros(proposed.shape, np.float32)
    if inside.any():
        volume[inside], log_sv[inside] = measure(proposed[inside])
    proposed_ratio = np.where(inside, log_target(proposed, log_sv) - proposal.log_density(proposed), -np.inf)
    accepted = accept(proposed_ratio, ratio, rng)
    keep = accepted[:, None]
    new_state = (np.where(keep, proposed, state[0]), np.where(accepted, volume, state[1]),
                 np.where(keep, log_sv, state[2]))
    return new_state, np.where(accepted, proposed_ratio, ratio), accepted
