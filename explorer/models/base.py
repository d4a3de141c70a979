"""The model adapter contract that makes any generative model explorable.

A model is explorable when it has `latent_dim`, `prior` ("gaussian" or "uniform"),
`image_shape` (H, W, C) and two torch methods:

- `encode(images)`: float (N, C, H, W) in [0, 1] -> (N, latent_dim), deterministic
  (a VAE's posterior mean; a GAN's learned encoder or inversion);
- `decode(latents)`: (N, latent_dim) -> float (N, C, H, W) in [0, 1].

`ExplorableModel` wraps such a model with numpy in / numpy out helpers, device placement
and batching; it is what the rest of the explorer calls.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

import numpy as np
import torch

Prior = Literal["gaussian", "uniform"]
PRIORS = ("gaussian", "uniform")


class ContractError(TypeError):
    """A model does not meet the adapter contract; the message names what is missing."""


@runtime_checkable
class LatentModel(Protocol):
    latent_dim: int
    prior: Prior
    image_shape: tuple[int, int, int]

    def encode(self, images: torch.Tensor) -> torch.Tensor: ...

    def decode(self, latents: torch.Tensor) -> torch.Tensor: ...


def check_contract(model: object, *, probe: bool = True) -> None:
    """Raise ContractError unless `model` meets the adapter contract (probing shapes if asked)."""
    for name in ("latent_dim", "prior", "image_shape", "encode", "decode"):
        if not hasattr(model, name):
            raise ContractError(f"model {type(model).__name__} has no {name!r}; see explorer.models.base")
    latent_dim = model.latent_dim  # type: ignore[attr-defined]
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ContractError(f"latent_dim must be a positive int, got {latent_dim!r}")
    if model.prior not in PRIORS:  # type: ignore[attr-defined]
        raise ContractError(f"prior must be one of {PRIORS}, got {model.prior!r}")  # type: ignore[attr-defined]
    shape = tuple(model.image_shape)  # type: ignore[attr-defined]
    if len(shape) != 3 or shape[2] not in (1, 3) or min(shape) < 1:
        raise ContractError(f"image_shape must be (H, W, C) with C in (1, 3), got {shape!r}")
    for name in ("encode", "decode"):
        if not callable(getattr(model, name)):
            raise ContractError(f"model.{name} must be callable")
    if not probe:
        return
    height, width, channels = shape
    with torch.no_grad():
        decoded = model.decode(torch.zeros(2, latent_dim, device=_device_of(model)))  # type: ignore[attr-defined]
        if not isinstance(decoded, torch.Tensor):
            raise ContractError(f"decode must return a torch.Tensor, got {type(decoded).__name__}")
        if tuple(decoded.shape) != (2, channels, height, width):
            raise ContractError(
                f"decode(latents of shape (2, {latent_dim})) returned shape {tuple(decoded.shape)}, "
                f"want (2, {channels}, {height}, {width})"
            )
        encoded = model.encode(decoded.clamp(0, 1))  # type: ignore[attr-defined]
        if not isinstance(encoded, torch.Tensor):
            raise ContractError(f"encode must return a torch.Tensor, got {type(encoded).__name__}")
        if tuple(encoded.shape) != (2, latent_dim):
            raise ContractError(
                f"encode(images of shape (2, {channels}, {height}, {width})) returned shape "
                f"{tuple(encoded.shape)}, want (2, {latent_dim})"
            )


def _device_of(model: object) -> torch.device:
    if isinstance(model, torch.nn.Module):
        for tensor in model.parameters():
            return tensor.device
    return torch.device("cpu")


class ExplorableModel:
    """numpy in / numpy out access to a contract-checked model on one device."""

    def __init__(self, model: LatentModel, device: str | torch.device = "cpu", batch_size: int = 256):
        check_contract(model, probe=False)
        self.model = model
        self.device = torch.device(device)
        self.batch_size = batch_size
        if isinstance(model, torch.nn.Module):
            model.to(self.device).eval()
        check_contract(model)

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    @property
    def prior(self) -> Prior:
        return self.model.prior

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.model.image_shape)  # type: ignore[return-value]

    def to(self, device: str | torch.device) -> "ExplorableModel":
        """Move the wrapped model to `device` in place."""
        self.device = torch.device(device)
        if isinstance(self.model, torch.nn.Module):
            self.model.to(self.device)
        return self

    @torch.no_grad()
    def encode_images(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W, C) -> float32 (N, latent_dim), in batches."""
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != self.image_shape:
            raise ValueError(
                f"images must be uint8 of shape (N, {', '.join(map(str, self.image_shape))}), "
                f"got {images.dtype} {images.shape}"
            )
        out = np.empty((len(images), self.latent_dim), np.float32)
        for start in range(0, len(images), self.batch_size):
            batch = torch.from_numpy(images[start : start + self.batch_size]).to(self.device)
            batch = batch.permute(0, 3, 1, 2).float() / 255.0
            out[start : start + len(batch)] = self.model.encode(batch).float().cpu().numpy()
        return out

    @torch.no_grad()
    def decode_latents(self, latents: np.ndarray) -> np.ndarray:
        """float (N, latent_dim) -> float32 (N, H, W, C) in [0, 1], in batches."""
        latents = np.asarray(latents, dtype=np.float32)
        if latents.ndim != 2 or latents.shape[1] != self.latent_dim:
            raise ValueError(f"latents must have shape (N, {self.latent_dim}), got {latents.shape}")
        if not np.isfinite(latents).all():
            raise ValueError("latents contain NaN or inf")
        out = np.empty((len(latents), *self.image_shape), np.float32)
        for start in range(0, len(latents), self.batch_size):
            batch = torch.from_numpy(latents[start : start + self.batch_size]).to(self.device)
            images = self.model.decode(batch).float().clamp(0, 1)
            out[start : start + len(batch)] = images.permute(0, 2, 3, 1).cpu().numpy()
        return out
