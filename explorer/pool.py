"""The sampler pool: latents with their decoder log singular values, precomputed once per pack.

Computing log-volumes costs d JVPs per latent, far too slow for a slider; reweighting stored
latents is instant, so every pool sampler, any rho and any top-k draws from the pool. Each
row stores its latent, its full log-volume, its d log singular values (float32, largest
first), the log density of the law it was drawn from (`log_source`), how many times it
counts (`counts`: chain steps held) and its rung. Three ways to build one (`--method`):

- "adaptive" (the default, `build_rung_pool`): i.i.d. prior draws, then for each rho in
  `rhos`, taken outward from 0, rounds of draws from a Gaussian fitted to everything drawn so
  far and weighted toward p · vol_k^rho, until that target's ESS reaches `ess_goal`. All rows
  form one rung, weighted against the mixture of all proposals (`explorer.latent.mcmc`
  says why this beats chains here, with figures).
- "mcmc" (`build_rung_pool`): the prior draws, then per rho independent Metropolis–Hastings
  chains with such a Gaussian (`explorer.rungs.chain_rung`); one rung per rho.
- "importance" (`build_pool`): the prior draws alone, the pool of before.

Effective sample size. A draw for (sampler, rho, k) reweights the rung that keeps the most
effective samples for its target (`explorer.latent.sampling.best_rung`): a rung of size S
with its own ESS E (S for i.i.d. draws, the chains' bulk ESS for a chain rung), reweighted by
w = target / source, has ESS (E / S) · Kish(w, counts). A draw of n is fair when that is at
least n; `sampler_draw` says so in words when it is not.

A pool is tied to the weights it was measured on by `weights_hash`. Files written before
rungs existed (latents and full log-volumes only) load as one rung of prior draws with k = d.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Callable, Literal

import numpy as np
import torch
from tqdm import tqdm

from explorer.atomic import replace_files
from explorer.devices import resolve_device
from explorer.latent.mcmc import fit_gaussian, mixture_log_density, prior_proposal
from explorer.latent.sampling import (
    MAX_SPREAD,
    PRIORS,
    Target,
    best_rung,
    capped_k,
    effective_sample_size,
    prior_log_density,
    resample_rows,
    sampler_target,
    target_log_density,
    top_k_log_volume,
)
from explorer.models.base import LatentModel
from explorer.rungs import Measure, RungSamples, chain_rung, chain_starts, decoder_measure, importance_rung, prior_rung

Sampler = Literal["prior", "magnet", "uniform-manifold", "polarity"]
METHODS = ("adaptive", "mcmc", "importance")
RHOS = (-1.0, -0.75, -0.5, -0.25, 0.25, 0.5, 0.75, 1.0)
# An adaptive pool keeps drawing for a target until its ESS reaches this: twice the 200 draws
# a histogram takes, so that a draw of 200 is fair with room to move rho or k a little.
ESS_GOAL = 400.0
FORMAT = 2


@dataclass(frozen=True)
class Rung:
    """One set of pool latents, aimed at p(z) · vol_k(z)^rho (rho 0: the prior), with its own ESS."""

    rho: float
    k: int
    ess: float
    size: int  # draws, or chain steps (Σ counts)
    acceptance: float = float("nan")  # MH acceptance rate of the kept steps (nan: i.i.d. draws)
    kind: str = "prior"  # "prior", "importance" (prior and fitted proposals, mixture-weighted) or "chains"


@dataclass(frozen=True)
class SamplerDraw:
    """A pool draw: the latents, their effective sample size, the rung they came from, a warning ("" if fair)."""

    latents: np.ndarray
    ess: float
    rung: Rung
    warning: str


@dataclass(frozen=True, eq=False)
class SamplerPool:
    """Latents (N, d) float32 with full log-volumes (N,) float64, log singular values, counts and rungs.

    `log_singular_values` (N, d) float32, largest first, is None in pools from before rungs;
    `k` is the default top-k of draws (None: d); row i belongs to rung `rung[i]`, counts
    `counts[i]` times and was drawn from a law of log density `log_source[i]` (up to a
    constant of its rung). Without rungs, the pool is one rung of i.i.d. prior draws.
    """

    latents: np.ndarray
    log_volume: np.ndarray
    prior: str
    seed: int
    weights_hash: str
    log_singular_values: np.ndarray | None = None
    k: int | None = None
    log_source: np.ndarray | None = None
    counts: np.ndarray | None = None
    rung: np.ndarray | None = None
    rungs: tuple[Rung, ...] | None = None
    method: str = "importance"
    build: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.latents)
        if self.latents.ndim != 2 or n == 0:
            raise ValueError(f"latents must have shape (N, d) with N >= 1, got {self.latents.shape}")
        if self.log_volume.shape != (n,):
            raise ValueError(f"log_volume must have shape ({n},), got {self.log_volume.shape}")
        if not (np.isfinite(self.latents).all() and np.isfinite(self.log_volume).all()):
            raise ValueError("pool latents and log_volume must be finite (no NaN or inf)")
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {self.prior!r}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        sv = self.log_singular_values
        if sv is not None and (sv.shape != self.latents.shape or not np.isfinite(sv).all()):
            raise ValueError(f"log_singular_values must be finite with shape {self.latents.shape}, got {sv.shape}")
        if self.k is not None and not 1 <= self.k <= self.dim:
            raise ValueError(f"k must lie in [1, {self.dim}], got {self.k}")
        # Missing bookkeeping means one prior rung of i.i.d. draws (pools from before rungs).
        object.__setattr__(self, "counts", np.ones(n, np.int32) if self.counts is None else self.counts)
        if self.log_source is None:
            object.__setattr__(self, "log_source", prior_log_density(self.latents, self.prior))
        object.__setattr__(self, "rung", np.zeros(n, np.int16) if self.rung is None else self.rung)
        if self.rungs is None:
            object.__setattr__(self, "rungs", (Rung(0.0, self.dim, float(n), n),))
        if self.counts.shape != (n,) or self.counts.min() < 1 or self.rung.shape != (n,):
            raise ValueError(f"counts and rung must have shape ({n},) with counts >= 1")
        if self.log_source.shape != (n,) or np.isnan(self.log_source).any() or np.isinf(self.log_source).any():
            raise ValueError(f"log_source must be finite with shape ({n},)")
        if self.rung.min() < 0 or self.rung.max() >= len(self.rungs):
            raise ValueError(f"rung indices must lie in [0, {len(self.rungs)}), one per row")

    @property
    def dim(self) -> int:
        """Latent size d."""
        return self.latents.shape[1]

    @property
    def default_k(self) -> int:
        """The top-k a draw uses unless told: the pool's k, else d."""
        return self.dim if self.k is None else self.k

    def log_volume_k(self, k: int) -> np.ndarray:
        """Top-k log-volume of every row; k = d is the full log-volume (the only one old pools know)."""
        if k == self.dim:
            return self.log_volume
        if self.log_singular_values is None:
            raise ValueError(
                f"this pool stores only full log-volumes, so k={k} (< d={self.dim}) is unavailable; "
                "rebuild it with `latent-explorer pool --pack NAME`"
            )
        return top_k_log_volume(self.log_singular_values, k)

    def save(self, path: str | Path) -> None:
        """Write the pool as .npz atomically (explorer.atomic.replace_files: the old pool or the new one)."""
        replace_files(Path(path).parent, {Path(path).name: self.write_npz})

    def write_npz(self, file: IO[bytes]) -> None:
        """The pool as .npz into an open binary file."""
        arrays = {
            "latents": self.latents,
            "log_volume": self.log_volume,
            "prior": np.array(self.prior),
            "seed": np.array(self.seed),
            "weights_hash": np.array(self.weights_hash),
            "format": np.array(FORMAT),
            "method": np.array(self.method),
            "log_source": self.log_source,
            "counts": self.counts,
            "rung": self.rung,
            "rung_rho": np.array([r.rho for r in self.rungs]),
            "rung_k": np.array([r.k for r in self.rungs]),
            "rung_ess": np.array([r.ess for r in self.rungs]),
            "rung_size": np.array([r.size for r in self.rungs]),
            "rung_acceptance": np.array([r.acceptance for r in self.rungs]),
            "rung_kind": np.array([r.kind for r in self.rungs]),
            "build": np.array(json.dumps(self.build)),
        }
        if self.log_singular_values is not None:
            arrays["log_singular_values"] = self.log_singular_values
        if self.k is not None:
            arrays["k"] = np.array(self.k)
        np.savez(file, **arrays)

    @classmethod
    def load(cls, path: str | Path, weights_hash: str | None = None) -> "SamplerPool":
        """Read a saved pool (of any format), refusing one built for weights other than `weights_hash`.

        A missing file raises FileNotFoundError; a corrupt or truncated one ValueError that says so.
        """
        rebuild = "rebuild it with `latent-explorer pool --pack NAME`"
        try:
            with np.load(path, allow_pickle=False) as data:
                pool = cls(
                    latents=data["latents"],
                    log_volume=data["log_volume"],
                    prior=str(data["prior"]),
                    seed=int(data["seed"]),
                    weights_hash=str(data["weights_hash"]),
                    **_rung_fields(data),
                )
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(
                f"sampler pool {path} cannot be read ({type(error).__name__}: {error}); {rebuild}"
            ) from error
        if weights_hash is not None and pool.weights_hash != weights_hash:
            raise ValueError(
                f"sampler pool {path} was built for weights {pool.weights_hash!r}, but the model's "
                f"weights are {weights_hash!r}; {rebuild}"
            )
        return pool

    def rung_weights(self, target: Target) -> tuple[np.ndarray, np.ndarray, float, int]:
        """The best rung for `target` (`best_rung`): its rows, their log-weights (counts in), the ESS, its index."""
        target_log = target_log_density(self.latents, self.log_volume_k(target.k), self.prior, target)
        if not np.isfinite(target_log).any():
            raise ValueError("latents lie outside the uniform prior's support [-1, 1]^d, so they were not drawn from it")
        efficiency = np.array([rung.ess / rung.size for rung in self.rungs])
        return best_rung(target_log, self.log_source, self.counts, self.rung, efficiency)

    def draw_rows(
        self, sampler: Sampler, n: int, seed: int, rho: float = 0.0, k: int | None = None
    ) -> tuple[np.ndarray, float, int]:
        """Rows of n distinct pool latents drawn by `sampler`, the draw's ESS and the rung used."""
        target = sampler_target(sampler, rho, self.default_k if k is None else k)
        rows, log_weights, ess, index = self.rung_weights(target)
        chosen = resample_rows(log_weights, n, np.random.default_rng(seed), replace=False)
        return rows[chosen], ess, index

    def draw(
        self, sampler: Sampler, n: int, seed: int, rho: float = 0.0, k: int | None = None
    ) -> tuple[np.ndarray, float]:
        """n distinct pool latents drawn by `sampler`, and the effective sample size of the draw.

        `rho` is used by "polarity" only; `k` (default the pool's) is the top-k of the volume.
        Warn the user when the ESS is under n (`sampler_draw` words it): the draw is then
        little more than the rung's n heaviest latents, not a sample of the target.
        """
        rows, ess, _ = self.draw_rows(sampler, n, seed, rho, k)
        return self.latents[rows].copy(), ess


def _rung_fields(data) -> dict:
    """The SamplerPool fields beyond the first five that a file holds (none in pools from before rungs)."""
    if "rung_rho" not in data.files:
        return {}
    rungs = tuple(
        Rung(float(rho), int(k), float(ess), int(size), float(acceptance), str(kind))
        for rho, k, ess, size, acceptance, kind in zip(
            data["rung_rho"], data["rung_k"], data["rung_ess"], data["rung_size"], data["rung_acceptance"],
            data["rung_kind"],
        )
    )
    return {
        "log_singular_values": data["log_singular_values"] if "log_singular_values" in data.files else None,
        "k": int(data["k"]) if "k" in data.files else None,
        "log_source": data["log_source"],
        "counts": data["counts"],
        "rung": data["rung"],
        "rungs": rungs,
        "method": str(data["method"]),
        "build": json.loads(str(data["build"])),
    }


def sampler_draw(
    pool: SamplerPool, sampler: Sampler, n: int, seed: int, rho: float = 0.0, k: int | None = None
) -> SamplerDraw:
    """What the Sampling view shows for a pool sampler: the draw, its ESS, its rung and a warning text."""
    rows, ess, index = pool.draw_rows(sampler, n, seed, rho, k)
    return SamplerDraw(pool.latents[rows].copy(), ess, pool.rungs[index], ess_warning(ess, n))


def ess_warning(ess: float, n: int) -> str:
    """A warning in words when a draw of n has an effective sample size under n ("" otherwise)."""
    if ess >= n:
        return ""
    return (
        f"Effective sample size {ess:.0f} is under the {n} latents drawn: these are mostly the pool's "
        f"heaviest latents repeated in kind, not a fair sample of this sampler's target. Move ρ toward "
        f"the pool's chains (ρ = 0 or a rung it was built with), keep k, or rebuild the pool with "
        f"`latent-explorer pool --method mcmc`."
    )


def build_pool(
    model: LatentModel,
    n: int,
    seed: int = 0,
    batch_size: int | None = None,
    device: str = "auto",
    progress: bool = True,
    *,
    weights_hash: str,
    k: int | None = None,
    active: int | None = None,
) -> SamplerPool:
    """n i.i.d. prior latents with exact decoder log singular values: an importance pool (moves an nn.Module to device).

    k None: `capped_k(active or d, their log singular values)`. `batch_size` None picks 128
    latents per Jacobian batch on CUDA (about 2 GiB for a 64×64×3 decoder with 32 latents;
    memory grows with batch × latent size) and 16 on CPU.
    """
    with tqdm(total=n, unit="latent", desc="prior rung", disable=not progress) as bar:
        measure = _measure(model, device, batch_size, bar.update)
        samples = prior_rung(measure, model.prior, n, model.latent_dim, seed)
    if k is None:
        k = capped_k(active or model.latent_dim, samples.log_singular_values) if n > 1 else model.latent_dim
    rung = Rung(0.0, model.latent_dim, samples.ess, samples.size, kind="prior")
    settings = {"prior_latents": n, "active": active, "k": k, "log_volumes_measured": n}
    return _assemble(model, [samples], [rung], seed, weights_hash, k, "importance", settings)


def build_rung_pool(
    model: LatentModel,
    n: int,
    method: str = "adaptive",
    rhos: tuple[float, ...] = RHOS,
    *,
    weights_hash: str,
    k: int | None = None,
    active: int | None = None,
    draws: int = 512,
    ess_goal: float = ESS_GOAL,
    rounds: int = 3,
    chains: int = 64,
    steps: int = 16,
    burn_in: int = 4,
    seed: int = 0,
    batch_size: int | None = None,
    device: str = "auto",
    progress: bool = True,
) -> SamplerPool:
    """A prior rung of n latents, then rungs aimed at p · vol_k^rho for each rho in `rhos` (see the module doc).

    k None: `capped_k(active or d, the prior rung's log singular values)`. Targets are taken
    outward from rho = 0. "adaptive": up to `rounds` rounds of `draws` latents from a Gaussian
    fitted to everything drawn so far, until the target's ESS reaches `ess_goal`; one
    mixture-weighted rung in all. "mcmc": per rho, `chains` independent-MH chains with such a
    Gaussian, started at distinct latents resampled toward the target; `burn_in` steps
    dropped and `steps` kept.
    """
    if method not in ("adaptive", "mcmc"):
        raise ValueError(f"method must be 'adaptive' or 'mcmc' for a rung pool, got {method!r}")
    rhos = tuple(float(rho) for rho in rhos)
    if not rhos or 0.0 in rhos or len(set(rhos)) < len(rhos) or not all(np.isfinite(rhos)):
        raise ValueError(f"rhos must be distinct finite non-zero numbers (rho = 0 is the prior rung), got {rhos}")
    for name, value, least in (("n", n, 2), ("draws", draws, 1), ("rounds", rounds, 1), ("chains", chains, 1),
                               ("steps", steps, 4), ("burn_in", burn_in, 0)):
        if value < least:
            raise ValueError(f"{name} must be at least {least}, got {value}")
    for name, value in (("k", k), ("active", active)):
        if value is not None and not 1 <= value <= model.latent_dim:
            raise ValueError(f"{name} must lie in [1, {model.latent_dim}], got {value}")
    per_target = draws * rounds if method == "adaptive" else chains * (burn_in + steps)
    rng = np.random.default_rng([seed, 1])
    ladder = sorted(rhos, key=lambda value: (abs(value), value))
    evaluated = [0]

    def advance(count: int) -> None:
        evaluated[0] += count
        bar.update(count)

    with tqdm(total=n + len(rhos) * per_target, unit="latent", desc="prior rung", disable=not progress) as bar:
        measure = _measure(model, device, batch_size, advance)
        prior = prior_rung(measure, model.prior, n, model.latent_dim, seed)
        settings = {"prior_latents": n, "active": active,
                    "k_rule": "given" if k is not None else f"capped_k(spread <= {MAX_SPREAD:g} nats)"}
        if k is None:
            k = capped_k(active or model.latent_dim, prior.log_singular_values)
        settings["k"] = k
        settings["prior_spread"] = round(float(np.std(top_k_log_volume(prior.log_singular_values, k))), 3)
        if method == "adaptive":
            samples, rungs, history = _adaptive_rungs(measure, model, prior, ladder, k, draws, ess_goal, rounds, rng,
                                                      bar)
            settings.update(draws=draws, ess_goal=ess_goal, rounds=rounds, targets=history)
        else:
            samples, rungs = _chain_rungs(measure, model, prior, ladder, k, chains, steps, burn_in, rng, bar)
            settings.update(chains=chains, steps=steps, burn_in=burn_in, rhos=ladder)
    settings["log_volumes_measured"] = evaluated[0]
    return _assemble(model, samples, rungs, seed, weights_hash, k, method, settings)


def _adaptive_rungs(measure, model, prior: RungSamples, ladder, k, draws, ess_goal, rounds, rng, bar):
    """One i.i.d. rung: the prior draws, then rounds of `draws` from Gaussians fitted per rho, mixture-weighted.

    Each Gaussian is fitted to every latent drawn so far, importance-weighted to its target
    against the mixture of all proposals so far (adaptive multiple importance sampling,
    Cornuet et al. 2012); a rho gets up to `rounds` rounds, until its ESS reaches `ess_goal`.
    Returns the samples, the rung, and per rho the rounds it took and the ESS it reached.
    """
    proposals = [prior_proposal(model.prior, model.latent_dim)]
    sizes = [prior.size]
    samples = prior
    history = []
    for rho in ladder:
        target = Target(rho, k)
        for round_ in range(rounds + 1):
            log_weights = _target_log(samples, model.prior, target) - mixture_log_density(
                samples.latents, proposals, sizes)
            ess = effective_sample_size(log_weights)
            if ess >= ess_goal or round_ == rounds:
                break
            bar.set_description(f"rho={rho:g} round {round_ + 1} (ESS {ess:.0f})")
            proposal = proposals[0] if model.prior == "uniform" else fit_gaussian(samples.latents, log_weights)
            samples = _concatenate([samples, importance_rung(measure, model.prior, proposal, draws, rng)])
            proposals.append(proposal)
            sizes.append(draws)
        history.append({"rho": rho, "rounds": round_, "ess": round(ess, 1)})
    samples = replace(samples, log_source=mixture_log_density(samples.latents, proposals, sizes))
    return [samples], [Rung(0.0, k, float(sum(sizes)), sum(sizes), kind="importance")], history


def _chain_rungs(measure, model, prior: RungSamples, ladder, k, chains, steps, burn_in, rng, bar) -> tuple[list, list]:
    """The prior rung, then per rho `chains` independent-MH chains with a Gaussian fitted to the best rung so far."""
    built = [prior]
    rungs = [Rung(0.0, model.latent_dim, prior.ess, prior.size, kind="prior")]
    for rho in ladder:
        bar.set_description(f"chains at rho={rho:g}")
        source, log_weights = _toward(built, rungs, model.prior, Target(rho, k))
        proposal = prior_proposal(model.prior, model.latent_dim) if model.prior == "uniform" else fit_gaussian(
            source.latents, log_weights)
        starts = chain_starts(source, log_weights, chains, rng)
        built.append(chain_rung(measure, model.prior, rho, k, proposal, starts, steps, burn_in, rng))
        rungs.append(Rung(rho, k, built[-1].ess, built[-1].size, built[-1].acceptance, "chains"))
    return built, rungs


def _target_log(samples: RungSamples, prior: str, target: Target) -> np.ndarray:
    """log target density of a rung's latents."""
    return target_log_density(samples.latents, top_k_log_volume(samples.log_singular_values, target.k), prior, target)


def _concatenate(parts: list[RungSamples]) -> RungSamples:
    """The rows of several rungs as one (ESS: their sum, as for i.i.d. draws)."""
    return RungSamples(*(np.concatenate([getattr(part, name) for part in parts]) for name in
                         ("latents", "log_volume", "log_singular_values", "log_source", "counts")),
                       ess=float(sum(part.ess for part in parts)))


def _toward(built: list[RungSamples], rungs: list[Rung], prior: str, target: Target) -> tuple[RungSamples, np.ndarray]:
    """The built rung that reweights best to `target`, and its log-weights (counts included)."""
    _, log_weights, _, index = best_rung(
        _target_log(_concatenate(built), prior, target),
        np.concatenate([s.log_source for s in built]),
        np.concatenate([s.counts for s in built]),
        np.concatenate([np.full(len(s.latents), i) for i, s in enumerate(built)]),
        np.array([rung.ess / rung.size for rung in rungs]),
    )
    return built[index], log_weights


def _measure(model: LatentModel, device: str, batch_size: int | None, advance: Callable[[int], object]) -> Measure:
    """The log-volume function on the resolved device (moving an nn.Module model there).

    `batch_size` None: 128 on CUDA, 16 on CPU.
    """
    target = resolve_device(device)
    if batch_size is None:
        batch_size = 128 if target.type == "cuda" else 16
    if isinstance(model, torch.nn.Module):
        model.to(target).eval()
    return decoder_measure(model.decode, target, batch_size, advance)


def _assemble(model: LatentModel, samples: list[RungSamples], rungs: list[Rung], seed: int, weights_hash: str,
              k: int | None, method: str, settings: dict) -> SamplerPool:
    """One SamplerPool from the rungs' samples, in order."""
    return SamplerPool(
        latents=np.concatenate([s.latents for s in samples]),
        log_volume=np.concatenate([s.log_volume for s in samples]),
        prior=model.prior,
        seed=seed,
        weights_hash=weights_hash,
        log_singular_values=np.concatenate([s.log_singular_values for s in samples]),
        k=k,
        log_source=np.concatenate([s.log_source for s in samples]),
        counts=np.concatenate([s.counts for s in samples]),
        rung=np.concatenate([np.full(len(s.latents), i, np.int16) for i, s in enumerate(samples)]),
        rungs=tuple(rungs),
        method=method,
        build=settings,
    )
