import gzip
from pathlib import Path

import numpy as np
import pytest

from explorer.data import DatasetUnavailable, fashion, load_dataset

needs_data = pytest.mark.skipif(
    not (fashion.DATA_DIR / "t10k-images-idx3-ubyte.gz").exists(),
    reason="apt-get install dataset-fashion-mnist",
)


@needs_data
def test_limited_load_reads_28px_grey_images_with_class_labels() -> None:
    data = load_dataset("fashion", "validation", limit=5)
    assert data.images.shape == (5, 28, 28, 1) and data.images.dtype == np.uint8
    assert data.labels["class"].dtype == np.int64
    assert data.labels["class"].tolist() == [9, 2, 1, 1, 6]  # the published first test labels
    assert data.categories["class"][9] == "Ankle boot"


@needs_data
def test_splits_are_the_published_train_and_test_files() -> None:
    train = fashion.build("train", 3)
    assert not train.validation.any() and train.images.shape == (3, 28, 28, 1)
    labels = fashion.read_idx(fashion.DATA_DIR / "train-labels-idx1-ubyte.gz")
    assert labels.shape == (60000,) and set(np.unique(labels)) == set(range(10))


def test_read_idx_refuses_a_file_that_is_not_idx(tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(b"\x12\x34\x08\x01" + bytes(8)))
    with pytest.raises(ValueError, match="not an IDX"):
        fashion.read_idx(path)


def test_read_idx_reports_a_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "short.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + (10).to_bytes(4, "big") + bytes(4)))
    with pytest.raises(ValueError, match="truncated"):
        fashion.read_idx(path)


def test_missing_files_name_the_package_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(fashion, "DATA_DIR", tmp_path)
    with pytest.raises(DatasetUnavailable, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion", "train", limit=2)
