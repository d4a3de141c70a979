"""Letters and digits of the Debian fonts, rendered 32×32 grey with font-style labels.

Each font's characters share one scale and one baseline, so case and descenders stay visible
(an "o" is smaller than an "O", a "g" hangs lower than an "a"). Validation holds out whole
families: a model is judged on typefaces it never saw.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from .base import DatasetUnavailable, LabelledImages, split_positions

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/liberation"),
    Path("/usr/share/fonts/opentype/urw-base35"),
    Path("/usr/share/fonts/truetype/noto"),
)
PACKAGES = "fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-urw-base35 fonts-noto-core"
CHARACTERS = string.digits + string.ascii_uppercase + string.ascii_lowercase
IMAGE_SIZE = 32
MARGIN = 1  # pixels left blank around the font's tallest and widest characters
SUPERSAMPLE = 4
MAX_FONTS = 120
VALIDATION_FRACTION = 0.15
SEED = 0
CACHE_VERSION = 1
LICENCE = (
    "fonts under their own free licences: DejaVu (Bitstream Vera / Arev licence), "
    "Liberation and Noto (SIL OFL-1.1), URW base35 (AGPL-3.0 with font exception)"
)
SOURCE = f"Debian {PACKAGES.replace(' ', ', ')}"

# Families whose letters are symbols, or copies of another family's Latin.
SKIPPED_FAMILIES = re.compile(r"Symbol|Math|Emoji|Dingbat|D050000L")
# Noto's script fonts carry a copy of Noto Sans Latin; only its Latin families are kept.
NOTO_LATIN = re.compile(r"Noto (Sans|Serif)( Display)?$")
# URW's names do not say serif: they clone Times, Courier, Century Schoolbook, Palatino, Bookman.
SERIF_FAMILIES = {"Nimbus Roman", "Nimbus Mono PS", "C059", "P052", "URW Bookman"}
WIDTH_WORDS = re.compile(r" (Condensed|Narrow|Display)\b")
NOTDEF_PROBE = "\U0010fffd"  # a private-use code point no text font maps
CASES = ["digit", "upper", "lower"]


@dataclass(frozen=True)
class Font:
    """A font file with the style labels read from its names."""

    path: Path
    full_family: str
    style: str

    @property
    def family(self) -> str:
        """The design family: width cuts (Condensed, Narrow, Display) fold into their family."""
        return WIDTH_WORDS.sub("", self.full_family)

    @property
    def traits(self) -> dict[str, bool]:
        """bold, italic, serif, monospace and condensed, from the family and style names."""
        names = f"{self.full_family} {self.style}"
        return {
            "bold": re.search(r"Bold|Demi|Black|Heavy", self.style) is not None,
            "italic": re.search(r"Italic|Oblique", self.style) is not None,
            "serif": self.family in SERIF_FAMILIES
            or re.search(r"\bSerif\b", self.family) is not None,
            "monospace": re.search(r"\bMono\b", self.family) is not None,
            "condensed": re.search(r"Condensed|Narrow", names) is not None,
        }


def _ink(font: ImageFont.FreeTypeFont, text: str) -> np.ndarray:
    canvas = Image.new("L", (3 * int(font.size), 3 * int(font.size)), 0)
    ImageDraw.Draw(canvas).text((font.size, 2 * font.size), text, font=font, fill=255, anchor="ls")
    return np.asarray(canvas)


def _covers_characters(font: ImageFont.FreeTypeFont) -> bool:
    """True when every character has its own drawn glyph (not blank, not the .notdef box)."""
    notdef = _ink(font, NOTDEF_PROBE)
    return all(
        ink.any() and not np.array_equal(ink, notdef)
        for ink in (_ink(font, character) for character in CHARACTERS)
    )


def discover_fonts(dirs: Sequence[Path] | None = None) -> list[Font]:
    """The Latin text fonts under `dirs` (default FONT_DIRS), at most MAX_FONTS, in path order."""
    dirs = FONT_DIRS if dirs is None else dirs
    fonts = []
    paths = sorted(p for d in dirs if d.is_dir() for p in d.iterdir() if p.suffix in (".ttf", ".otf"))
    for path in paths:
        try:
            face = ImageFont.truetype(str(path), 24)
        except OSError:  # a bitmap font with fixed sizes (Noto Color Emoji) is no text font
            continue
        family, style = face.getname()
        if family is None or style is None or SKIPPED_FAMILIES.search(family):
            continue
        if family.startswith("Noto ") and not NOTO_LATIN.match(family):
            continue
        if _covers_characters(face):
            fonts.append(Font(path, family, style))
    if not fonts:
        raise DatasetUnavailable(
            f"no Latin fonts found under {', '.join(map(str, dirs))}: apt-get install {PACKAGES}, "
            "or copy a rendered glyphs.npz into the dataset cache"
        )
    return fonts[:MAX_FONTS]


def render_font(path: Path, characters: str = CHARACTERS, size: int = IMAGE_SIZE) -> np.ndarray:
    """(len(characters), size, size) uint8: white glyphs on black at one scale and baseline."""
    big = size * SUPERSAMPLE
    probe = ImageFont.truetype(str(path), 100)
    boxes = np.array([probe.getbbox(c, anchor="ls") for c in CHARACTERS], dtype=float)
    extent = max(boxes[:, 3].max() - boxes[:, 1].min(), (boxes[:, 2] - boxes[:, 0]).max())
    # Outline boxes leave out the anti-aliased fringe: a supersampled pixel on each side.
    target = (size - 2 * MARGIN) * SUPERSAMPLE - 2
    font = ImageFont.truetype(str(path), int(100 * target / extent))
    inks = {}
    for character in CHARACTERS:
        canvas = Image.new("L", (2 * big, 2 * big), 0)
        ImageDraw.Draw(canvas).text((big // 2, big * 3 // 2), character, font=font, fill=255, anchor="ls")
        inks[character] = np.asarray(canvas)
    rows = np.flatnonzero(np.any([ink.any(axis=1) for ink in inks.values()], axis=0))
    top, height = rows[0], min(rows[-1] + 1 - rows[0], big)
    images = []
    for character in characters:
        columns = np.flatnonzero(inks[character].any(axis=0))
        glyph = inks[character][top : top + height, columns[0] : columns[-1] + 1][:, :big]
        canvas = np.zeros((big, big), dtype=np.uint8)
        y, x = (big - glyph.shape[0]) // 2, (big - glyph.shape[1]) // 2
        canvas[y : y + glyph.shape[0], x : x + glyph.shape[1]] = glyph
        images.append(np.asarray(Image.fromarray(canvas).reduce(SUPERSAMPLE)))
    return np.stack(images)


def _case(character: str) -> str:
    return "digit" if character.isdigit() else "upper" if character.isupper() else "lower"


def validation_families(fonts: Sequence[Font]) -> set[str]:
    """A seeded choice of whole families holding at least VALIDATION_FRACTION of the fonts."""
    families = sorted({font.family for font in fonts})
    held: set[str] = set()
    for family in np.random.default_rng(SEED).permutation(families):
        if sum(font.family in held for font in fonts) >= VALIDATION_FRACTION * len(fonts):
            break
        if len(held) + 1 < len(families):
            held.add(str(family))
    return held


def build(
    split: str | None = None, limit: int | None = None, *, fonts: Sequence[Font] | None = None
) -> LabelledImages:
    """Render the dataset, or only the first `limit` images of `split`; default: every font found."""
    fonts = list(fonts) if fonts is not None else discover_fonts()
    held = validation_families(fonts)
    families = sorted({font.family for font in fonts})
    every_font = np.repeat(np.arange(len(fonts)), len(CHARACTERS))
    every_char = np.tile(np.arange(len(CHARACTERS)), len(fonts))
    validation = np.array([fonts[f].family in held for f in every_font], dtype=bool)
    keep = np.arange(len(every_font)) if split is None else split_positions(validation, split, limit)
    font_of, char_of = every_font[keep], every_char[keep]

    images = np.zeros((len(keep), IMAGE_SIZE, IMAGE_SIZE, 1), dtype=np.uint8)
    for font_index in tqdm(sorted(set(font_of.tolist())), desc="glyph fonts", unit="font", disable=None):
        rows = np.flatnonzero(font_of == font_index)
        characters = "".join(CHARACTERS[c] for c in char_of[rows])
        images[rows, :, :, 0] = render_font(fonts[font_index].path, characters)

    case_of = np.array([CASES.index(_case(c)) for c in CHARACTERS], dtype=np.int64)
    family_of = np.array([families.index(font.family) for font in fonts], dtype=np.int64)
    labels = {"character": char_of.astype(np.int64), "case": case_of[char_of], "family": family_of[font_of]}
    traits = [font.traits for font in fonts]
    for trait in traits[0]:
        labels[trait] = np.array([traits[f][trait] for f in font_of], dtype=bool)
    return LabelledImages(
        name="glyphs",
        images=images,
        labels=labels,
        validation=validation[keep],
        categories={"character": list(CHARACTERS), "case": CASES, "family": families},
        licence=LICENCE,
        source=SOURCE,
        image_names=tuple(
            f"{CHARACTERS[c]} {fonts[f].full_family} {fonts[f].style}"
            for f, c in zip(font_of, char_of)
        ),
        version=CACHE_VERSION,
    )
