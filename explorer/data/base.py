"""The dataset contract: uint8 images with labels and a fixed, seeded split."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SPLITS = ("train", "validation")


class DatasetUnavailable(RuntimeError):
    """The files a dataset reads are missing; the message says what to install."""


@dataclass(frozen=True)
class ImageDataset:
    """Images (N, H, W, C) uint8 with per-image labels.

    `labels[name]` is an (N,) array: bool for a binary attribute, int64 for a categorical
    one whose value names are `categories[name]`.
    """

    name: str
    split: str
    images: np.ndarray
    labels: dict[str, np.ndarray]
    categories: dict[str, list[str]] = field(default_factory=dict)
    licence: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(
                f"images must be uint8 (N, H, W, C), got {self.images.dtype} {self.images.shape}"
            )
        for name, values in self.labels.items():
            if values.shape != (len(self.images),):
                raise ValueError(f"label {name!r} has shape {values.shape}, want ({len(self.images)},)")
            if name in self.categories and values.dtype.kind not in "iu":
                raise ValueError(f"categorical label {name!r} must be integer, got {values.dtype}")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def binary_labels(self) -> dict[str, np.ndarray]:
        """Every label as a boolean mask; a categorical label becomes one mask per value."""
        masks: dict[str, np.ndarray] = {}
        for name, values in self.labels.items():
            if name in self.categories:
                for code, value_name in enumerate(self.categories[name]):
                    masks[f"{name}={value_name}"] = values == code
            else:
                masks[name] = values.astype(bool)
        return masks


def cache_dir() -> Path:
    """Where rendered datasets are cached: $LATENT_EXPLORER_DATA or ~/.cache/latent-explorer."""
    root = os.environ.get("LATENT_EXPLORER_DATA")
    return Path(root) if root else Path.home() / ".cache" / "latent-explorer"


def split_indices(n: int, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded (train, validation) split of range(n)."""
    order = np.random.default_rng(seed).permutation(n)
    n_validation = int(round(n * validation_fraction))
    return np.sort(order[n_validation:]), np.sort(order[:n_validation])
