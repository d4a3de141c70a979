import importlib
from pathlib import Path

import numpy as np
import pytest

from explorer.data import DATASETS, DatasetUnavailable, LabelledImages, cache_path, glyphs, load_dataset

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
needs_fonts = pytest.mark.skipif(
    not (DEJAVU / "DejaVuSans.ttf").exists(), reason="apt-get install fonts-dejavu-core"
)


@pytest.fixture
def two_fonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Glyph discovery sees only two fonts of two families."""
    folder = tmp_path / "fonts"
    folder.mkdir()
    for name in ("DejaVuSans.ttf", "DejaVuSerif.ttf"):
        (folder / name).symlink_to(DEJAVU / name)
    monkeypatch.setattr(glyphs, "FONT_DIRS", (folder,))
    return folder


def test_every_registered_dataset_has_a_builder_and_a_description() -> None:
    assert set(DATASETS) == {"emoji", "glyphs", "fashion"}
    for name, description in DATASETS.items():
        module = importlib.import_module(f"explorer.data.{name}")
        assert callable(module.build) and isinstance(module.CACHE_VERSION, int) and description


def test_unknown_names_and_splits_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        load_dataset("mnist", "train")
    with pytest.raises(ValueError, match="split"):
        load_dataset("glyphs", "test")


@needs_fonts
def test_a_full_load_writes_the_cache_and_a_machine_without_fonts_reads_it(
    two_fonts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = load_dataset("glyphs", "validation")
    assert cache_path("glyphs").exists()
    monkeypatch.setattr(glyphs, "FONT_DIRS", (two_fonts.parent / "no fonts here",))
    cached = load_dataset("glyphs", "validation")
    assert np.array_equal(cached.images, built.images)
    assert cached.image_names == built.image_names
    assert all(np.array_equal(cached.labels[name], built.labels[name]) for name in built.labels)
    assert len(load_dataset("glyphs", "train", limit=7)) == 7
    with pytest.raises(DatasetUnavailable):
        load_dataset("glyphs", "validation", refresh=True)


@needs_fonts
def test_a_limited_load_writes_no_cache(two_fonts: Path) -> None:
    data = load_dataset("glyphs", "train", limit=10)
    assert len(data) == 10 and data.split == "train"
    assert not cache_path("glyphs").exists()


@needs_fonts
def test_a_cache_from_another_version_is_rebuilt(
    two_fonts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_dataset("glyphs", "train")
    old = LabelledImages.load(cache_path("glyphs"))
    LabelledImages(**{**old.__dict__, "version": glyphs.CACHE_VERSION - 1}).save(cache_path("glyphs"))
    load_dataset("glyphs", "train")
    assert LabelledImages.load(cache_path("glyphs")).version == glyphs.CACHE_VERSION

    LabelledImages(**{**old.__dict__, "version": glyphs.CACHE_VERSION - 1}).save(cache_path("glyphs"))
    monkeypatch.setattr(glyphs, "FONT_DIRS", (two_fonts.parent / "no fonts here",))
    with pytest.raises(DatasetUnavailable, match="this code reads version"):
        load_dataset("glyphs", "train")
