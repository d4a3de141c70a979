"""The sampler pool: prior latents with their decoder log-volumes, precomputed once per pack.

Computing log-volumes costs d JVPs per latent, far too slow for a slider; reweighting a
stored pool is instant, so MaGNET and polarity sampling (any rho) draw from the pool.
A pool is tied to the weights it was measured on by `weights_hash`.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import numpy as np
import torch
from tqdm import tqdm

from explorer.atomic import replace_files
from explorer.latent.sampling import (
    PRIORS,
    effective_sample_size,
    magnet_log_weights,
    polarity_log_weights,
    resample,
    sample_prior,
)
from explorer.models.base import LatentModel
from explorer.models.jacobian import log_volume as decoder_log_volume

Sampler = Literal["prior", "magnet", "polarity"]
SAMPLERS = ("prior", "magnet", "polarity")


@dataclass(frozen=True, eq=False)
class SamplerPool:
    """Prior latents (N, d) float32 with their decoder log-volumes (N,) float64."""

    latents: np.ndarray
    log_volume: np.ndarray
    prior: str
    seed: int
    weights_hash: str

    def __post_init__(self) -> None:
        if self.latents.ndim != 2 or len(self.latents) == 0:
            raise ValueError(f"latents must have shape (N, d) with N >= 1, got {self.latents.shape}")
        if self.log_volume.shape != (len(self.latents),):
            raise ValueError(f"log_volume must have shape ({len(self.latents)},), got {self.log_volume.shape}")
        if not (np.isfinite(self.latents).all() and np.isfinite(self.log_volume).all()):
            raise ValueError("pool latents and log_volume must be finite (no NaN or inf)")
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {self.prior!r}")

    def save(self, path: str | Path) -> None:
        """Write the pool as .npz atomically (explorer.atomic.replace_files: the old pool or the new one)."""
        replace_files(Path(path).parent, {Path(path).name: self.write_npz})

    def write_npz(self, file: IO[bytes]) -> None:
        """The pool as .npz into an open binary file."""
        np.savez(
            file,
            latents=self.latents,
            log_volume=self.log_volume,
            prior=np.array(self.prior),
            seed=np.array(self.seed),
            weights_hash=np.array(self.weights_hash),
        )

    @classmethod
    def load(cls, path: str | Path, weights_hash: str | None = None) -> "SamplerPool":
        """Read a saved pool, refusing one built for weights other than `weights_hash` (when given).

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

    def draw(self, sampler: Sampler, n: int, seed: int, rho: float = 0.0) -> tuple[np.ndarray, float]:
        """n distinct pool latents drawn by `sampler`, and the effective sample size of its weights.

        `rho` is used by "polarity" only. Warn the user when the ESS is not well above n: the
        draw is then little more than the pool's n heaviest latents, not a sample of the target.
        """
        if sampler == "prior":
            log_weights = np.zeros(len(self.latents))
        elif sampler == "magnet":
            log_weights = magnet_log_weights(self.log_volume, self.latents, self.prior)
        elif sampler == "polarity":
            log_weights = polarity_log_weights(self.log_volume, rho)
        else:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
        latents = resample(self.latents, log_weights, n, seed, replace=False)
        return latents, effective_sample_size(log_weights)


def resolve_device(device: str) -> torch.device:
    """'auto' -> CUDA when present, else CPU; 'cuda' without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but torch sees no CUDA GPU; use --device cpu or auto")
    return torch.device(device)


def build_pool(
    model: LatentModel,
    n: int,
    seed: int = 0,
    batch_size: int | None = None,
    device: str = "auto",
    progress: bool = True,
    *,
    weights_hash: str,
) -> SamplerPool:
    """Draw n prior latents and measure their exact decoder log-volumes (moves an nn.Module model to device).

    `batch_size` None picks 128 latents per Jacobian batch on CUDA (about 2 GiB for a 64×64×3
    decoder with 32 latents; memory grows with batch × latent size) and 16 on CPU.
    """
    target = resolve_device(device)
    if batch_size is None:
        batch_size = 128 if target.type == "cuda" else 16
    if isinstance(model, torch.nn.Module):
        model.to(target).eval()
    latents = sample_prior(model.prior, n, model.latent_dim, seed)
    volumes = np.empty(n, dtype=np.float64)
    with tqdm(total=n, unit="latent", desc="log-volume", disable=not progress) as bar:
        for start in range(0, n, batch_size):
            batch = torch.from_numpy(latents[start : start + batch_size]).to(target)
            volume = decoder_log_volume(model.decode, batch, batch_size=batch_size)
            volumes[start : start + len(batch)] = volume.cpu().numpy()
            bar.update(len(batch))
    return SamplerPool(latents, volumes, model.prior, seed, weights_hash)
