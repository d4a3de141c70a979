"""Encode an image source batch by batch: the one loop behind a pack's index and its training split.

Memory stays bounded by a batch of images plus the latents (N × latent_dim float32); a caller
that keeps the images too (the index's thumbnails) writes each batch out as it comes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from tqdm import tqdm

if TYPE_CHECKING:
    import torch

    from explorer.data.base import ImageSource


def encode_source(
    model: Any,
    source: "ImageSource",
    *,
    batch_size: int = 256,
    device: "str | torch.device" = "cpu",
    progress: bool = True,
    desc: str = "encoding",
    each_batch: Callable[[np.ndarray], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(latents float32 (n, d), rows (n,)) of the readable images of `source`, encoded by an
    ExplorableModel on `device` (it goes back to its device afterwards); `each_batch(images)`
    sees every batch once, after it is encoded. The progress bar shows the rate and an ETA."""
    if tuple(source.image_shape) != tuple(model.image_shape):
        raise ValueError(f"{source.name!r} has images of shape {tuple(source.image_shape)}, "
                         f"the model expects {tuple(model.image_shape)}")
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    latents = np.empty((len(source), model.latent_dim), np.float32)
    rows = np.empty(len(source), np.int64)
    filled = 0
    previous_device = model.device
    model.to(device)
    try:
        with tqdm(total=len(source), unit="img", desc=desc, disable=not progress, smoothing=0.1) as bar:
            for batch_rows, images in source.batches(batch_size):
                count = len(images)
                latents[filled : filled + count] = model.encode_images(images)
                rows[filled : filled + count] = batch_rows
                filled += count
                if each_batch is not None:
                    each_batch(images)
                bar.update(count)
    finally:
        model.to(previous_device)
    if filled < len(source):  # unreadable images were skipped
        return latents[:filled].copy(), rows[:filled].copy()
    return latents, rows
