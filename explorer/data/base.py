"""The dataset contract: uint8 images with labels and a fixed, seeded split."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from explorer.atomic import atomic_file

SPLITS = ("train", "validation")


class DatasetUnavailable(RuntimeError):
    """The files a dataset reads are missing; the message says what to install."""


class ImageSource(Protocol):
    """One split's images read in batches, so that encoding a folder of any size stays in bounded
    memory: an `ImageDataset` in memory, or a folder read from disk (explorer.data.folder)."""

    name: str
    split: str
    categories: dict[str, list[str]]

    @property
    def image_shape(self) -> tuple[int, int, int]: ...

    def __len__(self) -> int: ...

    def batches(self, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(rows, images): positions in the split and uint8 (n, H, W, C) images, at most `size` at a time."""
        ...

    def labels_of(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The labels of the images at `rows`."""
        ...


@dataclass(frozen=True)
class ImageDataset:
    """Images (N, H, W, C) uint8 with per-image labels.

    `labels[name]` is an (N,) array: bool for a binary attribute, int64 for a categorical
    one whose value names are `categories[name]`. `image_names` says what each image is (an
    emoji and its name, a glyph and its font, a file name) when the dataset knows it.
    """

    name: str
    split: str
    images: np.ndarray
    labels: dict[str, np.ndarray]
    categories: dict[str, list[str]] = field(default_factory=dict)
    licence: str = ""
    source: str = ""
    image_names: tuple[str, ...] = ()

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
        if self.image_names and len(self.image_names) != len(self.images):
            raise ValueError(f"{len(self.image_names)} image names for {len(self.images)} images")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def batches(self, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(rows, images) in order, `size` at a time (the ImageSource protocol)."""
        for start in range(0, len(self.images), size):
            chunk = self.images[start : start + size]
            yield np.arange(start, start + len(chunk)), chunk

    def labels_of(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The labels of the images at `rows` (the ImageSource protocol)."""
        return {name: values[rows] for name, values in self.labels.items()}

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


def cache_path(name: str) -> Path:
    """The cache file of a dataset: copy it to another machine to skip rendering there."""
    return cache_dir() / f"{name}.npz"


def split_positions(validation: np.ndarray, split: str, limit: int | None = None) -> np.ndarray:
    """Positions of the images of `split` given a validation mask, the first `limit` of them."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")
    positions = np.flatnonzero(validation if split == "validation" else ~validation)
    return positions[:limit]


@dataclass(frozen=True)
class LabelledImages:
    """Every image of a dataset, its labels and its validation mask: what a cache file holds."""

    name: str
    images: np.ndarray
    labels: dict[str, np.ndarray]
    validation: np.ndarray
    categories: dict[str, list[str]] = field(default_factory=dict)
    licence: str = ""
    source: str = ""
    image_names: tuple[str, ...] = ()
    version: int = 1

    def __post_init__(self) -> None:
        if self.validation.dtype != bool or self.validation.shape != (len(self.images),):
            raise ValueError(
                f"validation must be a bool ({len(self.images)},) mask, got "
                f"{self.validation.dtype} {self.validation.shape}"
            )

    def select(self, split: str, limit: int | None = None) -> ImageDataset:
        """The images of one split (the first `limit` of them) as an ImageDataset."""
        keep = split_positions(self.validation, split, limit)
        return ImageDataset(
            name=self.name,
            split=split,
            images=self.images[keep],
            labels={name: values[keep] for name, values in self.labels.items()},
            categories=self.categories,
            licence=self.licence,
            source=self.source,
            image_names=tuple(self.image_names[i] for i in keep) if self.image_names else (),
        )

    def save(self, path: Path) -> None:
        """Write a compressed .npz atomically: a reader sees the old file or the new, never half."""
        meta = {
            "name": self.name,
            "categories": self.categories,
            "licence": self.licence,
            "source": self.source,
            "version": self.version,
        }
        arrays = {
            "images": self.images,
            "validation": self.validation,
            "image_names": np.array(self.image_names, dtype=str),
            "meta": np.array(json.dumps(meta)),
        }
        arrays.update({f"label:{name}": values for name, values in self.labels.items()})
        with atomic_file(path) as stream:
            np.savez_compressed(stream, **arrays)

    @classmethod
    def load(cls, path: Path) -> LabelledImages:
        """Read a file written by `save`."""
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            labels = {
                key.removeprefix("label:"): stored[key] for key in stored.files if key.startswith("label:")
            }
            return cls(
                name=meta["name"],
                images=stored["images"],
                labels=labels,
                validation=stored["validation"],
                categories=meta["categories"],
                licence=meta["licence"],
                source=meta["source"],
                image_names=tuple(str(item) for item in stored["image_names"]),
                version=meta["version"],
            )
