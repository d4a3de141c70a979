from pathlib import Path

import numpy as np
import pytest

from explorer.data import DatasetUnavailable, glyphs, load_dataset
from explorer.data.glyphs import Font

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
LIBERATION = Path("/usr/share/fonts/truetype/liberation")
needs_fonts = pytest.mark.skipif(
    not (DEJAVU / "DejaVuSans.ttf").exists() or not (LIBERATION / "LiberationMono-Regular.ttf").exists(),
    reason="apt-get install fonts-dejavu-core fonts-liberation",
)


@pytest.fixture
def font_dir(tmp_path: Path) -> Path:
    """A folder with three fonts of three families."""
    folder = tmp_path / "fonts"
    folder.mkdir()
    fonts = (DEJAVU / "DejaVuSans.ttf", DEJAVU / "DejaVuSerif-Bold.ttf", LIBERATION / "LiberationMono-Regular.ttf")
    for path in fonts:
        (folder / path.name).symlink_to(path)
    return folder


@pytest.mark.parametrize(
    ("family", "style", "design_family", "traits"),
    [
        ("DejaVu Sans", "Condensed Bold Oblique", "DejaVu Sans", {"bold", "italic", "condensed"}),
        ("Nimbus Mono PS", "Regular", "Nimbus Mono PS", {"serif", "monospace"}),
        ("Liberation Sans Narrow", "Italic", "Liberation Sans", {"italic", "condensed"}),
        ("URW Bookman", "Demi", "URW Bookman", {"bold", "serif"}),
        ("Noto Serif Display", "Regular", "Noto Serif", {"serif"}),
    ],
)
def test_style_labels_are_read_from_font_names(
    family: str, style: str, design_family: str, traits: set[str]
) -> None:
    font = Font(Path("x.ttf"), family, style)
    assert font.family == design_family
    assert {name for name, value in font.traits.items() if value} == traits


@needs_fonts
def test_discovery_keeps_latin_text_fonts_only(tmp_path: Path) -> None:
    noto = Path("/usr/share/fonts/truetype/noto")
    candidates = [
        DEJAVU / "DejaVuSans.ttf",
        DEJAVU / "DejaVuMathTeXGyre.ttf",  # a math font
        noto / "NotoSansArmenian-Regular.ttf",  # no Latin letters
        noto / "NotoSansSymbols-Regular.ttf",  # a copy of Noto Sans' Latin
        noto / "NotoColorEmoji.ttf",  # a bitmap font
    ]
    for path in candidates:
        if path.exists():
            (tmp_path / path.name).symlink_to(path)
    assert [font.path.name for font in glyphs.discover_fonts([tmp_path])] == ["DejaVuSans.ttf"]


@needs_fonts
def test_glyphs_share_a_baseline_and_scale_within_a_font() -> None:
    images = glyphs.render_font(DEJAVU / "DejaVuSans.ttf", "oOag")
    rows = [np.flatnonzero(image.max(axis=1) > 64) for image in images]
    height = [r[-1] - r[0] for r in rows]
    assert images.shape == (4, 32, 32) and images.dtype == np.uint8
    assert height[0] < height[1]  # o is smaller than O
    assert rows[3][-1] > rows[2][-1] + 3  # g descends below a
    assert abs(rows[0][-1] - rows[2][-1]) <= 1  # o and a sit on the same baseline


@needs_fonts
def test_build_labels_every_character_of_every_font(font_dir: Path) -> None:
    fonts = glyphs.discover_fonts([font_dir])
    data = glyphs.build(fonts=fonts)
    n = 3 * len(glyphs.CHARACTERS)
    assert data.images.shape == (n, 32, 32, 1) and data.images.dtype == np.uint8
    assert all(values.shape == (n,) for values in data.labels.values())
    assert data.categories["family"] == ["DejaVu Sans", "DejaVu Serif", "Liberation Mono"]
    assert data.labels["character"].dtype == np.int64 and data.labels["bold"].dtype == bool
    first = data.image_names.index("Q DejaVu Serif Bold")
    assert data.labels["bold"][first] and data.labels["serif"][first]
    assert data.categories["case"][data.labels["case"][first]] == "upper"
    assert data.images.reshape(n, -1).max(axis=1).min() > 128  # every glyph has ink


@needs_fonts
def test_validation_holds_out_whole_families(font_dir: Path) -> None:
    fonts = glyphs.discover_fonts([font_dir])
    train, validation = glyphs.build("train", fonts=fonts), glyphs.build("validation", fonts=fonts)
    assert len(train.images) and len(validation.images)
    train_families = set(train.labels["family"].tolist())
    validation_families = set(validation.labels["family"].tolist())
    assert not train_families & validation_families
    assert glyphs.validation_families(fonts) == glyphs.validation_families(list(reversed(fonts)))


def test_missing_fonts_name_the_packages_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(glyphs, "FONT_DIRS", (tmp_path / "none",))
    with pytest.raises(DatasetUnavailable, match="apt-get install fonts-dejavu-core .*fonts-noto-core"):
        load_dataset("glyphs", "train", limit=5)
