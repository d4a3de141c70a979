"""Image features for precision / recall that the project owns offline (no downloaded Inception).

Two kinds, both deterministic:

- `encoder_features`: the model's own encoder latents. Semantic (trained on the pack's data),
  low-dimensional so k-NN radii are meaningful, and free: every pack has an encoder. Use it
  to compare samplers of one model; it sees only what that encoder learned, so do not use it
  to compare different models.
- `pixel_features`: area-downsampled pixels. Model-independent (fit for comparing models),
  with exact distances and no randomness; downsampling discards the pixel-level detail that
  would otherwise dominate Euclidean distance.

Images are numpy (N, H, W, C), uint8 or float in [0, 1], as datasets and
`ExplorableModel.decode_latents` give them.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from explorer.models.base import ExplorableModel


@torch.no_grad()
def encoder_features(model: ExplorableModel, images: np.ndarray) -> np.ndarray:
    """The model's encoder latents of the images (N, latent_dim), float64, encoded in batches."""
    images = _check_images(images)
    batches = []
    for start in range(0, len(images), model.batch_size):
        batch = _as_float_nchw(images[start : start + model.batch_size]).to(model.device)
        batches.append(model.model.encode(batch).double().cpu())
    return torch.cat(batches).numpy()


@torch.no_grad()
def pixel_features(images: np.ndarray, size: int = 8) -> np.ndarray:
    """Area-downsampled pixels (N, size·size·C), float64."""
    if size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    pooled = F.adaptive_avg_pool2d(_as_float_nchw(_check_images(images)).double(), size)
    return pooled.reshape(len(pooled), -1).numpy()


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or len(images) == 0 or images.shape[3] not in (1, 3):
        raise ValueError(f"images must have shape (N, H, W, C) with N >= 1 and C in (1, 3), got {images.shape}")
    if images.dtype != np.uint8 and not (np.issubdtype(images.dtype, np.floating) and np.isfinite(images).all()):
        raise ValueError(f"images must be uint8 or finite floats in [0, 1], got {images.dtype}")
    return images


def _as_float_nchw(images: np.ndarray) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    return tensor.float() / 255.0 if images.dtype == np.uint8 else tensor.float()
