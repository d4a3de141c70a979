"""A user's folder of images, centre-cropped and resized, with an optional attribute table.

The table is CelebA's `list_attr_celeba.txt` format (a count line, a header line of attribute
names, then `filename +1 -1 ...` rows) or a CSV with a filename column and 0/1 or -1/1
columns. Rows name images by their path relative to the folder or by their file name.
"""

from __future__ import annotations

import csv
import warnings
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


def load_folder(
    path: str | Path,
    split: str,
    attributes: str | Path | None = None,
    *,
    size: int = 64,
    validation_fraction: float = 0.15,
    seed: int = 0,
    limit: int | None = None,
) -> ImageDataset:
    """One seeded split of a folder of images (its first `limit`), labelled by an attribute table."""
    root = Path(path)
    files = list_images(root)
    keys = [file.relative_to(root).as_posix() for file in files]
    names: list[str] = []
    flags_of: dict[str, list[bool]] = {}
    if attributes is not None:
        names, rows = read_attribute_table(Path(attributes))
        unmatched = [key for key in keys if key not in rows and Path(key).name not in rows]
        if unmatched:
            raise AttributeTableError(
                f"{len(unmatched)} of {len(keys)} images have no row in {attributes} "
                f"(first: {unmatched[:3]}); add rows for them or move them out of {root}"
            )
        flags_of = {key: rows[key] if key in rows else rows[Path(key).name] for key in keys}

    validation = np.zeros(len(files), dtype=bool)
    validation[split_indices(len(files), validation_fraction, seed)[1]] = True
    images, kept, unreadable = [], [], []
    positions = split_positions(validation, split, limit)
    for position in tqdm(positions, desc=root.name, unit="img", disable=None):
        try:
            images.append(read_image(files[position], size))
            kept.append(keys[position])
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            unreadable.append(f"{keys[position]} ({error})")
    if unreadable:
        warnings.warn(
            f"skipped {len(unreadable)} unreadable images under {root}: "
            + "; ".join(unreadable[:3]),
            stacklevel=2,
        )
    labels = {
        name: np.array([flags_of[key][column] for key in kept], dtype=bool)
        for column, name in enumerate(names)
    }
    return ImageDataset(
        name=root.name,
        split=split,
        images=np.stack(images) if images else np.zeros((0, size, size, 3), dtype=np.uint8),
        labels=labels,
        licence="as given by the folder's owner",
        source=str(root),
        image_names=tuple(kept),
    )
