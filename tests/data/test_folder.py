from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explorer.data import AttributeTableError, load_folder

N_IMAGES = 12


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """12 images of assorted sizes and modes; image i is red when i is even."""
    root = tmp_path / "faces"
    (root / "sub").mkdir(parents=True)
    for i in range(N_IMAGES):
        colour = (200, 0, 0) if i % 2 == 0 else (0, 0, 200)
        image = Image.new("RGB", (30 + i, 20 + 2 * i), colour)
        target = root / ("sub" if i == 11 else "") / f"{i:06d}.{'jpg' if i % 3 else 'png'}"
        image.save(target)
    return root


def _celeba_table(path: Path, names: list[str], count: int | None = None) -> Path:
    lines = [str(len(names) if count is None else count), "Red Big_Number"]
    for name in names:
        number = int(name[:6])
        lines.append(f"{name}  {'1' if number % 2 == 0 else '-1'} {'1' if number > 5 else '-1'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("0*"))


def test_splits_are_seeded_disjoint_and_complete(folder: Path) -> None:
    train = load_folder(folder, "train", size=16)
    validation = load_folder(folder, "validation", size=16)
    assert train.images.shape[1:] == (16, 16, 3) and train.images.dtype == np.uint8
    assert not set(train.image_names) & set(validation.image_names)
    assert len(train) + len(validation) == N_IMAGES
    assert load_folder(folder, "train", size=16).image_names == train.image_names
    reseeded = load_folder(folder, "train", size=16, seed=5)
    assert reseeded.image_names != train.image_names


def test_celeba_table_labels_each_image(folder: Path, tmp_path: Path) -> None:
    table = _celeba_table(tmp_path / "list_attr_celeba.txt", _names(folder))
    data = load_folder(folder, "train", table, size=8)
    assert set(data.labels) == {"Red", "Big_Number"}
    for i, image_id in enumerate(data.image_names):
        number = int(Path(image_id).stem)
        assert data.labels["Red"][i] == (number % 2 == 0) == (data.images[i, 4, 4, 0] > 100)
        assert data.labels["Big_Number"][i] == (number > 5)
        assert data.labels["Red"].dtype == bool


def test_csv_table_with_zero_one_columns(folder: Path, tmp_path: Path) -> None:
    rows = ["red,image_id,even"]
    for name in _names(folder):
        even = int(int(name[:6]) % 2 == 0)
        rows.append(f"{even},{'sub/' if name.startswith('000011') else ''}{name},{even}")
    (tmp_path / "attrs.csv").write_text("\n".join(rows) + "\n")
    data = load_folder(folder, "validation", tmp_path / "attrs.csv", size=8)
    assert set(data.labels) == {"red", "even"}
    assert np.array_equal(data.labels["red"], data.images[:, 4, 4, 0] > 100)


def test_unreadable_images_are_skipped_with_a_counted_warning(folder: Path) -> None:
    (folder / "broken.png").write_bytes(b"not a png")
    (folder / "empty.jpg").write_bytes(b"")
    with pytest.warns(UserWarning, match="skipped 2 unreadable images"):
        data = load_folder(folder, "train", size=8, validation_fraction=0.0)
    assert len(data) == N_IMAGES
    assert not {"broken.png", "empty.jpg"} & set(data.image_names)


def test_transparent_pixels_become_white(tmp_path: Path) -> None:
    root = tmp_path / "icons"
    root.mkdir()
    for i in range(4):
        Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(root / f"{i}.png")
    data = load_folder(root, "train", size=4, validation_fraction=0.0)
    assert len(data) == 4 and (data.images == 255).all()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda lines: ["99", *lines[1:]], "count line says 99"),
        (lambda lines: [*lines[:2], lines[2] + " 1", *lines[3:]], "3 values for 2 attributes"),
        (lambda lines: [*lines[:2], lines[2].replace("1", "2"), *lines[3:]], "not 1/"),
        (lambda lines: ["11", *lines[1:-1]], "have no row"),
        (lambda lines: lines[1:], "count line"),
    ],
)
def test_mismatched_celeba_tables_are_explained(
    folder: Path, tmp_path: Path, mutate: Callable[[list[str]], list[str]], message: str
) -> None:
    table = _celeba_table(tmp_path / "list_attr_celeba.txt", _names(folder))
    table.write_text("\n".join(mutate(table.read_text().splitlines())) + "\n")
    with pytest.raises(AttributeTableError, match=message):
        load_folder(folder, "train", table)


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no images"):
        load_folder(tmp_path, "train")
