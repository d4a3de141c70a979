"""A pack's training split, encoded: latents and labels (no images), beside its index.

    split = pack.training                        # TrainingSplit, checked against the pack's weights
    split.latents, split.labels, split.categories

Attribute vectors are built on the training images and judged on the held-out index, as in the
paper (White, "Sampling Generative Networks"); every image of a folder counts, not just the
held-out 15%. The labels use the index's encoding: bool arrays for binary attributes, int64
codes with their value names in `categories` for categorical ones, so
`explorer.attributes.label_masks(split.labels, split.categories)` gives the same masks as for the
index. The file is `indexes/<pack>/training.npz`, written atomically, with the weights hash of
the model that encoded it; latents are stored as float16 (half the size; a vector is a mean
over many of them) unless their range needs float32, and read back as float32.
"""

from __future__ import annotations

import json
import os
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from explorer.atomic import atomic_file
from explorer.encoding import encode_source
from explorer.index import IndexMismatch, IndexMissing

if TYPE_CHECKING:
    import torch

    from explorer.data.base import ImageSource

TRAINING_FILE = "training.npz"
FORMAT_VERSION = 1
FLOAT16_MAX = 6.0e4  # below float16's largest finite value (65504), with a margin


@dataclass(frozen=True)
class TrainingSplit:
    """Encoded training images: latents float32 (N, d) and labels (N,) per name, as the index keeps them."""

    latents: np.ndarray
    labels: dict[str, np.ndarray]
    categories: dict[str, list[str]] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.latents.ndim != 2 or self.latents.dtype != np.float32:
            raise ValueError(f"latents must be float32 (N, d), got {self.latents.dtype} {self.latents.shape}")
        for name, values in self.labels.items():
            if values.shape != (len(self.latents),):
                raise ValueError(f"label {name!r} has shape {values.shape}, want ({len(self.latents)},)")

    def __len__(self) -> int:
        return len(self.latents)

    @classmethod
    def create(cls, latents: np.ndarray, labels: dict[str, np.ndarray], categories: dict[str, list[str]] | None = None,
               *, pack: str = "", weights_hash: str = "") -> "TrainingSplit":
        """A split with its metadata (pack, weights hash, sizes, time)."""
        latents = np.asarray(latents, dtype=np.float32)
        metadata = {"format": FORMAT_VERSION, "pack": pack, "split": "train", "count": len(latents),
                    "latent_dim": int(latents.shape[1]) if latents.ndim == 2 else 0, "weights_hash": weights_hash,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        return cls(latents, {name: np.asarray(values) for name, values in labels.items()}, dict(categories or {}),
                   metadata)

    def save(self, directory: str | os.PathLike) -> Path:
        """Write `directory/training.npz` atomically; return its path."""
        path = Path(directory) / TRAINING_FILE
        with atomic_file(path) as stream:
            self.write_npz(stream)
        return path

    def write_npz(self, stream: IO[bytes]) -> None:
        """The split as compressed .npz into an open binary file (latents as float16 where that is exact enough)."""
        stored = self.latents.astype(np.float16) if _fits_float16(self.latents) else self.latents
        metadata = dict(self.metadata, categories=self.categories, stored_dtype=str(stored.dtype))
        arrays = {"latents": stored, "meta": np.array(json.dumps(metadata))}
        arrays.update({f"label:{name}": values for name, values in self.labels.items()})
        np.savez_compressed(stream, **arrays)

    @classmethod
    def load(cls, directory: str | os.PathLike, weights_hash: str | None = None) -> "TrainingSplit":
        """Read `directory/training.npz`, refusing one that is corrupt or was encoded by other weights."""
        path = Path(directory) / TRAINING_FILE
        pack = Path(directory).name
        rebuild = (f"build it with `latent-explorer index --pack {pack}` (an imported pack: "
                   f"`latent-explorer import {pack} --force ...`)")
        if not path.is_file():
            raise IndexMissing(f"pack {pack!r} has no encoded training split ({path} missing): {rebuild}")
        try:
            with np.load(path, allow_pickle=False) as stored:
                metadata = json.loads(str(stored["meta"]))
                latents = stored["latents"].astype(np.float32)
                labels = {key[6:]: stored[key] for key in stored.files if key.startswith("label:")}
        except (ValueError, KeyError, OSError, EOFError, NotImplementedError, zipfile.BadZipFile,
                zlib.error) as error:  # what zipfile raises on a damaged archive, by where the damage is
            raise IndexMismatch(f"{path} cannot be read (corrupt file?: {error}); {rebuild}") from error
        if metadata.get("format") != FORMAT_VERSION:
            raise IndexMismatch(f"{path} has format {metadata.get('format')}, want {FORMAT_VERSION}; {rebuild}")
        if weights_hash is not None and metadata.get("weights_hash") != weights_hash:
            raise IndexMismatch(f"{path} was encoded by weights {metadata.get('weights_hash')}, the pack has "
                                f"{weights_hash}; {rebuild}")
        return cls(latents, labels, metadata.pop("categories", {}), metadata)


def _fits_float16(latents: np.ndarray) -> bool:
    return not len(latents) or float(np.abs(latents).max()) < FLOAT16_MAX


def build_training_split(pack: Any, dataset: "ImageSource", batch_size: int = 256,
                         device: "str | torch.device" = "cpu", progress: bool = True) -> TrainingSplit:
    """Encode `dataset` (a pack's training split, in memory or a folder) with the pack's model on `device`."""
    latents, rows = encode_source(pack.model, dataset, batch_size=batch_size, device=device, progress=progress,
                                  desc=f"encoding {pack.name} {dataset.split}")
    return TrainingSplit.create(latents, dataset.labels_of(rows), dataset.categories, pack=pack.name,
                                weights_hash=pack.weights_hash)
