from pathlib import Path

import numpy as np
import pytest

from explorer.data import base
from explorer.data.base import ImageDataset, LabelledImages, cache_path, split_indices, split_positions


def _collection(n: int = 10) -> LabelledImages:
    rng = np.random.default_rng(1)
    validation = np.zeros(n, dtype=bool)
    validation[split_indices(n, 0.3, 0)[1]] = True
    return LabelledImages(
        name="toy",
        images=rng.integers(0, 256, (n, 4, 4, 3), dtype=np.uint8),
        labels={"kind": np.arange(n, dtype=np.int64) % 3, "big": np.arange(n) > 4},
        validation=validation,
        categories={"kind": ["a", "b", "c"]},
        licence="CC0",
        source="test",
        image_names=tuple(f"item {i}" for i in range(n)),
        version=3,
    )


def test_split_indices_are_deterministic_disjoint_and_complete() -> None:
    train, validation = split_indices(100, 0.15, seed=7)
    again = split_indices(100, 0.15, seed=7)
    assert np.array_equal(train, again[0]) and np.array_equal(validation, again[1])
    assert len(validation) == 15
    assert not set(train) & set(validation)
    assert sorted([*train, *validation]) == list(range(100))


def test_split_positions_takes_the_first_limit_of_a_split() -> None:
    validation = np.array([False, True, False, True, True])
    assert split_positions(validation, "validation").tolist() == [1, 3, 4]
    assert split_positions(validation, "train", limit=1).tolist() == [0]
    with pytest.raises(ValueError, match="split"):
        split_positions(validation, "test")


def test_select_keeps_labels_ids_and_categories_aligned() -> None:
    collection = _collection()
    part = collection.select("validation")
    positions = np.flatnonzero(collection.validation)
    assert part.split == "validation" and len(part) == len(positions)
    assert np.array_equal(part.images, collection.images[positions])
    assert np.array_equal(part.labels["kind"], collection.labels["kind"][positions])
    assert part.image_names == tuple(collection.image_names[i] for i in positions)
    assert part.categories == {"kind": ["a", "b", "c"]}


def test_cache_round_trip_preserves_everything(tmp_path: Path) -> None:
    collection = _collection()
    path = tmp_path / "toy.npz"
    collection.save(path)
    loaded = LabelledImages.load(path)
    assert np.array_equal(loaded.images, collection.images) and loaded.images.dtype == np.uint8
    assert np.array_equal(loaded.validation, collection.validation)
    for name, values in collection.labels.items():
        assert np.array_equal(loaded.labels[name], values) and loaded.labels[name].dtype == values.dtype
    assert loaded.categories == collection.categories and loaded.version == 3
    assert loaded.image_names == collection.image_names
    assert (loaded.licence, loaded.source, loaded.name) == ("CC0", "test", "toy")


def test_a_failed_save_leaves_the_old_cache_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "toy.npz"
    _collection().save(path)
    before = path.read_bytes()

    def fail(stream, **arrays):  # type: ignore[no-untyped-def]
        stream.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(base.np, "savez_compressed", fail)
    with pytest.raises(OSError, match="disk full"):
        _collection(4).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["toy.npz"]


def test_cache_path_follows_the_environment(data_cache: Path) -> None:
    assert cache_path("emoji") == data_cache / "emoji.npz"


def test_ids_must_match_the_images() -> None:
    with pytest.raises(ValueError, match="image names"):
        ImageDataset("toy", "train", np.zeros((2, 4, 4, 1), np.uint8), {}, image_names=("one",))
