"""Fashion-MNIST from Debian's dataset-fashion-mnist: 60k train + 10k test 28×28 grey images.

Debian recompressed the IDX files (torchvision's checksums fail), so they are read directly.
The test set is the validation split.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from .base import DatasetUnavailable, LabelledImages

DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "validation": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
CACHE_VERSION = 1
LICENCE = "MIT (Zalando Research, Fashion-MNIST)"
SOURCE = "Debian dataset-fashion-mnist, /usr/share/datasets/fashion-mnist"


def read_idx(path: Path, limit: int | None = None) -> np.ndarray:
    """A gzipped IDX file of unsigned bytes as an array, reading only the first `limit` items."""
    with gzip.open(path, "rb") as stream:
        zero, dtype_code, n_dims = struct.unpack(">HBB", stream.read(4))
        if zero != 0 or dtype_code != 0x08:
            raise ValueError(
                f"{path} is not an IDX file of unsigned bytes (header {zero:#x} {dtype_code:#x})"
            )
        shape = list(struct.unpack(f">{n_dims}I", stream.read(4 * n_dims)))
        if limit is not None:
            shape[0] = min(shape[0], limit)
        count = int(np.prod(shape))
        data = np.frombuffer(stream.read(count), dtype=np.uint8)
    if data.size != count:
        raise ValueError(f"{path} is truncated: {data.size} bytes of {count}")
    return data.reshape(shape)


def build(split: str | None = None, limit: int | None = None) -> LabelledImages:
    """Read both splits, or only the first `limit` images of `split` when both are given."""
    paths = [DATA_DIR / name for files in FILES.values() for name in files]
    missing = [path for path in paths if not path.exists()]
    if missing:
        raise DatasetUnavailable(
            f"Fashion-MNIST is missing ({missing[0]} not found): "
            "apt-get install dataset-fashion-mnist, or copy a fashion.npz into the dataset cache"
        )
    images, classes, validation = [], [], []
    for name, (image_file, label_file) in FILES.items():
        if split is not None and name != split:
            continue
        part_limit = limit if split is not None else None
        part_images = read_idx(DATA_DIR / image_file, part_limit)
        part_classes = read_idx(DATA_DIR / label_file, part_limit)
        if len(part_images) != len(part_classes):
            raise ValueError(
                f"{image_file} has {len(part_images)} images but {label_file} {len(part_classes)} labels"
            )
        images.append(part_images[..., None])
        classes.append(part_classes.astype(np.int64))
        validation.append(np.full(len(part_images), name == "validation"))
    return LabelledImages(
        name="fashion",
        images=np.concatenate(images),
        labels={"class": np.concatenate(classes)},
        validation=np.concatenate(validation),
        categories={"class": CLASSES},
        licence=LICENCE,
        source=SOURCE,
        version=CACHE_VERSION,
    )
