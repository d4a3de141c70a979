"""Datasets that install offline: `load_dataset(name, split)` and `load_folder(path, split)`.

Rendered datasets are cached under `cache_dir()` as `<name>.npz`; a machine without the fonts
loads a cache copied from one that has them.
"""

from __future__ import annotations

import importlib

from .base import (
    SPLITS,
    DatasetUnavailable,
    ImageDataset,
    LabelledImages,
    cache_dir,
    cache_path,
    split_indices,
)
from .folder import AttributeTableError, load_folder

DATASETS: dict[str, str] = {
    "emoji": "Noto Color Emoji people portraits and faces, 64×64 RGB; gender, skin tone, age, "
    "hair, beard, headwear, profession, expressions",
    "glyphs": "letters and digits of the Debian fonts, 32×32 grey; character, case, family, "
    "bold, italic, serif, monospace, condensed (validation holds out whole families)",
    "fashion": "Fashion-MNIST, 60k + 10k 28×28 grey clothing images in 10 classes",
}

__all__ = [
    "DATASETS",
    "SPLITS",
    "AttributeTableError",
    "DatasetUnavailable",
    "ImageDataset",
    "LabelledImages",
    "cache_dir",
    "cache_path",
    "load_dataset",
    "load_folder",
    "split_indices",
]


def load_dataset(
    name: str, split: str, *, limit: int | None = None, refresh: bool = False
) -> ImageDataset:
    """One split of a named dataset (the first `limit` images), from its cache when there is one.

    A full load (no `limit`) writes the cache; a limited one builds only what it returns.
    `refresh` ignores an existing cache and rebuilds it.
    """
    if name not in DATASETS:
        raise ValueError(
            f"unknown dataset {name!r}; choose one of {sorted(DATASETS)} or use load_folder"
        )
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    module = importlib.import_module(f"{__name__}.{name}")
    path = cache_path(name)
    stale = ""
    if path.exists() and not refresh:
        cached = LabelledImages.load(path)
        if cached.version == module.CACHE_VERSION:
            return cached.select(split, limit)
        stale = (
            f" (the cache {path} is version {cached.version}, "
            f"this code reads version {module.CACHE_VERSION})"
        )
    try:
        if limit is not None:
            return module.build(split, limit).select(split, limit)
        built = module.build()
    except DatasetUnavailable as error:
        raise DatasetUnavailable(f"{error}{stale}") from error
    built.save(path)
    return built.select(split)
