"""The import benchmark's pieces on a small folder: the generated images and table import as a user's would."""

import numpy as np
import pytest

from explorer.benchmarks import import_pack as bench
from explorer.data import DatasetUnavailable, load_dataset, load_folder


@pytest.fixture(autouse=True)
def emoji_dataset():
    """The benchmark draws its pictures from the emoji dataset (Debian's Noto Color Emoji font)."""
    try:
        load_dataset("emoji", "validation", limit=1)
    except DatasetUnavailable as error:
        pytest.skip(str(error))


def test_the_generated_folder_is_labelled_emoji_pictures(tmp_path):
    table = bench.write_folder(tmp_path / "images", 30)
    data = load_folder(tmp_path / "images", "train", table, size=64, validation_fraction=0.0)
    assert data.images.shape == (30, 64, 64, 3) and len(data.labels) > 10
    assert data.image_names[0] == "000/000000.png"
    assert len({image.tobytes() for image in data.images}) == 30  # drawn with flips, shifts and shades


def test_the_import_is_timed_and_its_peak_memory_read(tmp_path):
    table = bench.write_folder(tmp_path / "images", 40)
    figures = bench.measure_import(tmp_path / "images", table, {"LATENT_EXPLORER_HOME": str(tmp_path / "home")},
                                   tmp_path / "import.log")
    assert figures["images_per_s"] > 0 and 100 < figures["peak_rss_mb"] < figures["machine_memory_mb"]
    assert figures["summary"].startswith("pack 'bench-folder': 6 held-out images indexed, 34 training")
    training = np.load(tmp_path / "home" / "indexes" / bench.PACK / "training.npz")
    assert training["latents"].shape == (34, 32)
