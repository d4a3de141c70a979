"""A user's folder of images, centre-cropped and resized, with an optional attribute table.

`FolderImages` is one seeded split read in batches (an ImageSource: what an import encodes, in
bounded memory however large the folder); `load_folder` reads a split into memory.

The table is CelebA's `list_attr_celeba.txt` format (a count line, a header line of attribute
names, then `filename +1 -1 ...` rows) or a CSV with a filename column and 0/1 or -1/1
columns. Rows name images by their path relative to the folder or by their file name.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from .base import ImageDataset, split_indices, split_positions

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
FILENAME_COLUMNS = ("filename", "file", "image", "image_id", "path", "name")
TRUE_VALUES, FALSE_VALUES = {"1", "+1"}, {"0", "-1"}


class AttributeTableError(ValueError):
    """An attribute table that cannot be read or does not match the folder's images."""


def _flag(value: str, where: str) -> bool:
    value = value.strip()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise AttributeTableError(f"{where}: value {value!r} is not 1/+1 (yes) or 0/-1 (no)")


def _add_row(rows: dict[str, list[bool]], filename: str, flags: list[bool], where: str) -> None:
    if filename in rows:
        raise AttributeTableError(f"{where}: {filename!r} appears twice")
    rows[filename] = flags


def read_celeba_table(path: Path) -> tuple[list[str], dict[str, list[bool]]]:
    """Attribute names and `filename -> flags` from a list_attr_celeba.txt-style file."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if len(lines) < 2 or not lines[0].strip().isdigit():
        first = repr(lines[0]) if lines else "missing"
        raise AttributeTableError(
            f"{path}: want a count line, a header line of attribute names, then rows; "
            f"the first line is {first}"
        )
    count, names = int(lines[0]), lines[1].split()
    rows: dict[str, list[bool]] = {}
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        where = f"{path}:{number}"
        if len(fields) != len(names) + 1:
            raise AttributeTableError(
                f"{where}: {len(fields) - 1} values for {len(names)} attributes"
            )
        _add_row(rows, fields[0], [_flag(value, where) for value in fields[1:]], where)
    if len(rows) != count:
        raise AttributeTableError(
            f"{path}: the count line says {count} rows but there are {len(rows)}"
        )
    return names, rows


def read_csv_table(path: Path) -> tuple[list[str], dict[str, list[bool]]]:
    """Attribute names and `filename -> flags` from a CSV with a filename column."""
    with path.open(newline="") as stream:
        reader = csv.reader(stream)
        header = [name.strip() for name in next(reader, [])]
        if len(header) < 2:
            raise AttributeTableError(
                f"{path}: want a header of a filename column and attribute columns"
            )
        lowered = [name.lower() for name in header]
        file_column = next((lowered.index(name) for name in FILENAME_COLUMNS if name in lowered), 0)
        names = [name for i, name in enumerate(header) if i != file_column]
        rows: dict[str, list[bool]] = {}
        for number, fields in enumerate(reader, start=2):
            if not fields:
                continue
            where = f"{path}:{number}"
            if len(fields) != len(header):
                raise AttributeTableError(
                    f"{where}: {len(fields)} fields for {len(header)} columns"
                )
            flags = [_flag(value, where) for i, value in enumerate(fields) if i != file_column]
            _add_row(rows, fields[file_column].strip(), flags, where)
    return names, rows


def read_attribute_table(path: Path) -> tuple[list[str], dict[str, list[bool]]]:
    """A CSV (by its .csv suffix) or CelebA-format attribute table."""
    return read_csv_table(path) if path.suffix.lower() == ".csv" else read_celeba_table(path)


def list_images(root: Path) -> list[Path]:
    """The image files under `root`, recursively, in sorted order."""
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist or is not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ValueError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found under {root}")
    return files


def read_image(path: Path, size: int) -> np.ndarray:
    """One image as (size, size, 3) uint8: transparency on white, centre square, resized."""
    with Image.open(path) as image:
        image.draft("RGB", (size, size))  # JPEG decodes at a reduced scale: much faster
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            image = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image.alpha_composite(rgba)
        image = ImageOps.fit(image.convert("RGB"), (size, size), Image.Resampling.LANCZOS)
        return np.asarray(image)


class FolderImages:
    """One seeded split of a folder of images, read in batches by a few threads (an ImageSource).

    Only the file list and the split's attribute flags are held; images are read a batch at a
    time (the next batch is read while the caller encodes the current one). Unreadable files are
    skipped, with one warning naming how many once the batches are done.
    """

    def __init__(
        self,
        path: str | Path,
        split: str,
        attributes: str | Path | None = None,
        *,
        size: int = 64,
        channels: int = 3,
        validation_fraction: float = 0.15,
        seed: int = 0,
        limit: int | None = None,
        workers: int | None = None,
    ):
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        if not 0.0 <= validation_fraction <= 1.0:
            raise ValueError(f"validation fraction must be between 0 and 1, got {validation_fraction}")
        self.root = Path(path)
        files = list_images(self.root)
        keys = [file.relative_to(self.root).as_posix() for file in files]
        validation = np.zeros(len(files), dtype=bool)
        validation[split_indices(len(files), validation_fraction, seed)[1]] = True
        positions = split_positions(validation, split, limit)
        self.name, self.split, self.size, self.channels = self.root.name, split, size, channels
        self.categories: dict[str, list[str]] = {}
        self.files = [files[position] for position in positions]
        self.keys = [keys[position] for position in positions]
        self.attribute_names: list[str] = []
        self._flags = np.zeros((len(self.files), 0), dtype=bool)
        if attributes is not None:
            self.attribute_names, self._flags = _flags_of(Path(attributes), self.root, self.keys, len(keys))
        self.workers = workers or min(4, os.cpu_count() or 1)
        self.unreadable: list[str] = []

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.size, self.size, self.channels

    def __len__(self) -> int:
        return len(self.files)

    def batches(self, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(rows, images) of the readable files, `size` files at a time, in order."""
        self.unreadable = []
        starts = range(0, len(self.files), size)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="read-images") as pool:
            def submit(start: int) -> list[Future]:
                return [pool.submit(self._read, row) for row in range(start, min(start + size, len(self.files)))]

            pending = submit(0) if starts else []
            for start in starts:
                upcoming = submit(start + size) if start + size < len(self.files) else []
                rows, images = [], []
                for row, future in zip(range(start, start + len(pending)), pending):
                    image = future.result()
                    if image is not None:
                        rows.append(row)
                        images.append(image)
                pending = upcoming
                if images:
                    yield np.asarray(rows, dtype=np.int64), np.stack(images)
        if self.unreadable:
            warnings.warn(f"skipped {len(self.unreadable)} unreadable images under {self.root}: "
                          + "; ".join(self.unreadable[:3]), stacklevel=2)

    def _read(self, row: int) -> np.ndarray | None:
        try:
            image = read_image(self.files[row], self.size)
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            self.unreadable.append(f"{self.keys[row]} ({error})")  # list.append is atomic across threads
            return None
        return to_grey(image) if self.channels == 1 else image

    def labels_of(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The attribute flags of the images at `rows`, one bool array per attribute."""
        return {name: self._flags[rows, column] for column, name in enumerate(self.attribute_names)}

    def names_of(self, rows: np.ndarray) -> tuple[str, ...]:
        """The paths (relative to the folder) of the images at `rows`."""
        return tuple(self.keys[row] for row in rows)


def _flags_of(table: Path, root: Path, keys: list[str], total: int) -> tuple[list[str], np.ndarray]:
    """The table's attribute names and a bool (len(keys), attributes) matrix for `keys`."""
    names, rows = read_attribute_table(table)
    unmatched = [key for key in keys if key not in rows and Path(key).name not in rows]
    if unmatched:
        raise AttributeTableError(
            f"{len(unmatched)} of {len(keys)} images have no row in {table} "
            f"(first: {unmatched[:3]}); add rows for them or move them out of {root}"
        )
    flags = np.array([rows[key] if key in rows else rows[Path(key).name] for key in keys], dtype=bool)
    return names, flags.reshape(len(keys), len(names))


def to_grey(image: np.ndarray) -> np.ndarray:
    """An RGB uint8 (..., 3) image as grey (..., 1), with ITU-R 601 weights."""
    grey = (image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).round()
    return grey.astype(np.uint8)[..., None]


def load_folder(
    path: str | Path,
    split: str,
    attributes: str | Path | None = None,
    *,
    size: int = 64,
    channels: int = 3,
    validation_fraction: float = 0.15,
    seed: int = 0,
    limit: int | None = None,
) -> ImageDataset:
    """One seeded split of a folder of images (its first `limit`), in memory, labelled by an attribute table."""
    folder = FolderImages(path, split, attributes, size=size, channels=channels,
                          validation_fraction=validation_fraction, seed=seed, limit=limit)
    all_rows, all_images = [], []
    for rows, images in tqdm(folder.batches(256), desc=folder.name, unit="batch", disable=None):
        all_rows.append(rows)
        all_images.append(images)
    rows = np.concatenate(all_rows) if all_rows else np.zeros(0, np.int64)
    return ImageDataset(
        name=folder.name,
        split=split,
        images=np.concatenate(all_images) if all_images else np.zeros((0, size, size, channels), dtype=np.uint8),
        labels=folder.labels_of(rows),
        licence="as given by the folder's owner",
        source=str(folder.root),
        image_names=folder.names_of(rows),
    )
