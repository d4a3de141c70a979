"""People and face emoji of Noto Color Emoji, rendered to 64×64 RGB with attributes.

The people portraits are built from Unicode's sequence rules: a base character (person, man,
woman, child, older person, police officer, mage, ...), an optional skin-tone modifier, and
optional ZWJ components (hair, a profession's object, ♂/♀). Every candidate is shaped with
libraqm and kept only when the font draws it as one glyph. Attributes are read from the
sequence itself (`describe`), plus what the artwork shows in every skin tone: Noto's older
people have white hair, its old man is bald on top, Santa has a beard, the professions whose
artwork wears a hat, cap or helmet have `headwear`. Faces (smileys) take their expression
labels from words of their Unicode names.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features
from tqdm import tqdm

from .base import DatasetUnavailable, LabelledImages, split_indices, split_positions

FONT_PATH = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
FONT_SIZE = 109  # the only size of Noto's colour bitmaps
IMAGE_SIZE = 64
VALIDATION_FRACTION = 0.15
SEED = 0
CACHE_VERSION = 1
LICENCE = "Noto Color Emoji: artwork Apache-2.0, font SIL OFL-1.1 (Google)"
SOURCE = "Debian fonts-noto-color-emoji, /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"

ZWJ = "\u200d"
VS16 = "\ufe0f"
MALE, FEMALE = "\u2642", "\u2640"

GENDERS = ["person", "man", "woman"]
SKIN_TONES = ["default", "light", "medium-light", "medium", "medium-dark", "dark"]
TONE_MODIFIERS = {chr(0x1F3FB + i): tone for i, tone in enumerate(SKIN_TONES[1:])}
AGES = ["child", "adult", "older"]
HAIR = {
    "\U0001F9B0": "red_hair", "\U0001F9B1": "curly_hair", "\U0001F9B3": "white_hair", "\U0001F9B2": "bald"
}
TRAITS = ["red_hair", "curly_hair", "white_hair", "bald", "blond", "beard", "headwear"]
EXPRESSIONS = {
    "smiling": r"SMIL(?!ING EYES)|GRIN|LAUGH|JOY|SMIRK",
    "open_mouth": r"OPEN MOUTH|SCREAMING|ASTONISHED|YAWNING",
    "eyes_closed": r"CLOSED EYES|SLEEP",
    "tears": r"TEAR|CRYING",
    "sweat": r"SWEAT",
    "hearts": r"HEART",
    "tongue": r"TONGUE|SAVOURING",
    "winking": r"WINK",
    "kissing": r"KISS",
    "frowning": r"FROWN|POUTING|ANGRY|DISAPPOINTED|WORRIED|PERSEVERING|CONFOUNDED|ANGUISHED|UNAMUSED"
    r"|WEARY|TIRED",
    "hand": r"HAND|FINGER|SALUTING|THINKING|HUGGING|PEEKING",
}
BINARY_LABELS = [*TRAITS, "is_face", "fantasy", "gesture", *EXPRESSIONS]


class _Base(NamedTuple):
    name: str
    gender: str = "person"
    age: str = "adult"
    traits: frozenset[str] = frozenset()
    profession: str = "none"
    kind: str = "person"  # person, fantasy or gesture
    gendered: bool = False  # takes a ZWJ ♂/♀ suffix
    toned: bool = True  # takes a skin-tone modifier


_HAT = frozenset({"headwear"})
# Bases drawn as a portrait (head and shoulders); full-figure people are left out.
BASES: dict[str, _Base] = {
    "\U0001F476": _Base("baby", age="child"),
    "\U0001F9D2": _Base("child", age="child"),
    "\U0001F466": _Base("boy", "man", "child"),
    "\U0001F467": _Base("girl", "woman", "child"),
    "\U0001F9D1": _Base("person"),
    "\U0001F468": _Base("man", "man"),
    "\U0001F469": _Base("woman", "woman"),
    "\U0001F9D3": _Base("older person", age="older", traits=frozenset({"white_hair"})),
    "\U0001F474": _Base("old man", "man", "older", frozenset({"white_hair", "bald"})),
    "\U0001F475": _Base("old woman", "woman", "older", frozenset({"white_hair"})),
    "\U0001F471": _Base("blond person", traits=frozenset({"blond"}), gendered=True),
    "\U0001F9D4": _Base("bearded person", traits=frozenset({"beard"}), gendered=True),
    "\U0001F46E": _Base("police officer", traits=_HAT, profession="police officer", gendered=True),
    "\U0001F482": _Base("guard", traits=_HAT, profession="guard", gendered=True),
    "\U0001F575": _Base("detective", traits=_HAT, profession="detective", gendered=True),
    "\U0001F477": _Base(
        "construction worker", traits=_HAT, profession="construction worker", gendered=True
    ),
    "\U0001F473": _Base("person wearing turban", traits=_HAT, gendered=True),
    "\U0001F472": _Base("person with skullcap", traits=_HAT),
    "\U0001F9D5": _Base("woman with headscarf", "woman", traits=_HAT),
    "\U0001F934": _Base("prince", "man", traits=_HAT, profession="royalty"),
    "\U0001F478": _Base("princess", "woman", traits=_HAT, profession="royalty"),
    "\U0001FAC5": _Base("person with crown", traits=_HAT, profession="royalty"),
    "\U0001F977": _Base("ninja", traits=_HAT, profession="ninja"),
    "\U0001F935": _Base("person in tuxedo", gendered=True),
    "\U0001F470": _Base("person with veil", traits=_HAT, gendered=True),
    "\U0001F931": _Base("breast-feeding"),
    "\U0001F47C": _Base("baby angel", age="child", kind="fantasy"),
    "\U0001F385": _Base("Santa Claus", "man", traits=frozenset({"beard", "headwear"}), kind="fantasy"),
    "\U0001F936": _Base("Mrs. Claus", "woman", traits=_HAT, kind="fantasy"),
    "\U0001F9D9": _Base("mage", traits=_HAT, kind="fantasy", gendered=True),
    "\U0001F9DB": _Base("vampire", kind="fantasy", gendered=True),
    "\U0001F9DD": _Base("elf", kind="fantasy", gendered=True),
    "\U0001F9DF": _Base("zombie", kind="fantasy", gendered=True, toned=False),
    "\U0001F64D": _Base("person frowning", kind="gesture", gendered=True),
    "\U0001F64E": _Base("person pouting", kind="gesture", gendered=True),
    "\U0001F645": _Base("person gesturing NO", kind="gesture", gendered=True),
    "\U0001F646": _Base("person gesturing OK", kind="gesture", gendered=True),
    "\U0001F481": _Base("person tipping hand", kind="gesture", gendered=True),
    "\U0001F64B": _Base("person raising hand", kind="gesture", gendered=True),
    "\U0001F9CF": _Base("deaf person", kind="gesture", gendered=True),
    "\U0001F647": _Base("person bowing", kind="gesture", gendered=True),
    "\U0001F926": _Base("person facepalming", kind="gesture", gendered=True),
    "\U0001F937": _Base("person shrugging", kind="gesture", gendered=True),
}
# ZWJ objects that make person / man / woman into a role: (name, profession, traits).
ROLES: dict[str, tuple[str, str, frozenset[str]]] = {
    "\u2695": ("health worker", "health worker", frozenset()),
    "\U0001F393": ("student", "student", _HAT),
    "\U0001F3EB": ("teacher", "teacher", frozenset()),
    "\u2696": ("judge", "judge", frozenset()),
    "\U0001F33E": ("farmer", "farmer", _HAT),
    "\U0001F373": ("cook", "cook", _HAT),
    "\U0001F527": ("mechanic", "mechanic", _HAT),
    "\U0001F3ED": ("factory worker", "factory worker", _HAT),
    "\U0001F4BC": ("office worker", "office worker", frozenset()),
    "\U0001F52C": ("scientist", "scientist", frozenset()),
    "\U0001F4BB": ("technologist", "technologist", frozenset()),
    "\U0001F3A4": ("singer", "singer", frozenset()),
    "\U0001F3A8": ("artist", "artist", frozenset()),
    "\u2708": ("pilot", "pilot", _HAT),
    "\U0001F680": ("astronaut", "astronaut", _HAT),
    "\U0001F692": ("firefighter", "firefighter", _HAT),
    "\U0001F37C": ("feeding baby", "none", frozenset()),
    "\U0001F384": ("Mx Claus", "none", _HAT),
}
ROLE_BASES = ("\U0001F9D1", "\U0001F468", "\U0001F469")
PROFESSIONS = [
    "none",
    *sorted({role[1] for role in ROLES.values()} - {"none"}),
    *sorted({base.profession for base in BASES.values()} - {"none"}),
]
# Characters whose default presentation is text: they need VS16 when nothing follows them.
TEXT_DEFAULT = {"\U0001F575", "\u263a", "\u2639", "\u2695", "\u2696", "\u2708", "\U0001F32B", MALE, FEMALE}

FACE_RANGES = [
    (0x1F600, 0x1F637), (0x1F641, 0x1F644), (0x1F910, 0x1F917), (0x1F920, 0x1F925),
    (0x1F927, 0x1F92F), (0x1F970, 0x1F976), (0x1F978, 0x1F97A), (0x1F9D0, 0x1F9D0),
    (0x1FAE0, 0x1FAE5), (0x1FAE8, 0x1FAE8), (0x2639, 0x263A),
]
# Faces that Python's Unicode database cannot name (ZWJ sequences, Unicode 15).
FACE_NAMES = {
    "\U0001F62E\u200d\U0001F4A8": "FACE EXHALING",
    "\U0001F635\u200d\U0001F4AB": "FACE WITH SPIRAL EYES",
    "\U0001F636\u200d\U0001F32B": "FACE IN CLOUDS",
    "\U0001FAE8": "SHAKING FACE",
}


@dataclass(frozen=True)
class Emoji:
    """One emoji sequence with its name and label values (category names or bools)."""

    sequence: str
    name: str
    labels: dict[str, str | bool]


def _qualified(parts: list[str]) -> str:
    """Join ZWJ parts, adding VS16 to text-default characters that stand alone."""
    return ZWJ.join(part + VS16 if part in TEXT_DEFAULT else part for part in parts)


def _face_name(sequence: str) -> str | None:
    bare = sequence.replace(VS16, "")
    if bare in FACE_NAMES:
        return FACE_NAMES[bare]
    if len(bare) == 1 and any(low <= ord(bare) <= high for low, high in FACE_RANGES):
        return unicodedata.name(bare, None)
    return None


def expression_labels(name: str) -> dict[str, bool]:
    """Expression labels of a face from the words of its Unicode name."""
    upper = name.upper()
    return {label: re.search(pattern, upper) is not None for label, pattern in EXPRESSIONS.items()}


def describe(sequence: str) -> Emoji:
    """Parse a people or face emoji sequence into its name and labels; ValueError otherwise."""
    labels: dict[str, str | bool] = {
        "gender": "person", "skin_tone": "default", "age": "adult", "profession": "none",
        **{label: False for label in BINARY_LABELS},
    }
    face_name = _face_name(sequence)
    if face_name is not None:
        labels.update(expression_labels(face_name), is_face=True)
        labels["headwear"] = re.search(r"\bHAT\b", face_name) is not None
        return Emoji(sequence, face_name.lower(), labels)

    parts = sequence.replace(VS16, "").split(ZWJ)
    head, components = parts[0], parts[1:]
    tone = head[1:] if len(head) == 2 and head[1] in TONE_MODIFIERS else ""
    base_char = head[0] if len(head) == 1 or tone else ""
    base = BASES.get(base_char)
    if base is None or (tone and not base.toned):
        raise ValueError(f"{sequence!r} is not a people or face emoji this dataset knows")
    traits = set(base.traits)
    name = base.name
    labels.update(gender=base.gender, age=base.age, profession=base.profession)
    if tone:
        labels["skin_tone"] = TONE_MODIFIERS[tone]
    for component in components:
        if component in (MALE, FEMALE) and base.gendered and labels["gender"] == "person":
            labels["gender"] = "man" if component == MALE else "woman"
            gender = labels["gender"]
            name = re.sub(r"\bperson\b", gender, name) if "person" in name else f"{gender} {name}"
        elif component in HAIR and base_char in ROLE_BASES and name == base.name:
            traits.add(HAIR[component])
            name = f"{name}: {HAIR[component].replace('_', ' ')}"
        elif component in ROLES and base_char in ROLE_BASES and name == base.name:
            role_name, profession, role_traits = ROLES[component]
            traits |= role_traits
            labels["profession"] = profession
            name = role_name if base.name == "person" else f"{name} {role_name}"
        else:
            raise ValueError(f"{sequence!r}: component {component!r} does not fit {base.name!r}")
    labels.update({trait: True for trait in traits})
    labels["fantasy"] = base.kind == "fantasy"
    labels["gesture"] = base.kind == "gesture"
    if tone:
        name = f"{name}{',' if ':' in name else ':'} {labels['skin_tone']} skin tone"
    return Emoji(sequence, name, labels)


def candidates() -> list[str]:
    """Every people and face sequence the rules allow, faces first, in a fixed order."""
    faces = [_qualified([chr(code)]) for low, high in FACE_RANGES for code in range(low, high + 1)]
    faces += [_qualified(list(bare.split(ZWJ))) for bare in FACE_NAMES if len(bare) > 1]
    people = []
    for base_char, base in BASES.items():
        for tone in ["", *TONE_MODIFIERS] if base.toned else [""]:
            head = base_char + tone
            suffixes: list[list[str]] = [[]]
            if base.gendered:
                suffixes += [[MALE], [FEMALE]]
            if base_char in ROLE_BASES:
                suffixes += [[component] for component in [*HAIR, *ROLES]]
            for suffix in suffixes:
                people.append(_qualified([head, *suffix]))
    return faces + people


def _font() -> ImageFont.FreeTypeFont:
    if not FONT_PATH.exists():
        raise DatasetUnavailable(
            f"Noto Color Emoji is missing ({FONT_PATH} not found): apt-get install "
            "fonts-noto-color-emoji, or copy a rendered emoji.npz into the dataset cache"
        )
    if not features.check("raqm"):
        raise DatasetUnavailable(
            "Pillow cannot shape emoji sequences without libraqm: apt-get install libraqm0"
        )
    return ImageFont.truetype(str(FONT_PATH), FONT_SIZE, layout_engine=ImageFont.Layout.RAQM)


def _is_one_glyph(font: ImageFont.FreeTypeFont, sequence: str, advance: float) -> bool:
    """True when the font ligates the whole sequence into a single drawn glyph."""
    _, top, _, bottom = font.getbbox(sequence)
    return font.getlength(sequence) < 1.5 * advance and bottom > top


def catalogue(font: ImageFont.FreeTypeFont) -> list[Emoji]:
    """The candidate sequences that this font draws as one glyph, described."""
    advance = font.getlength("\U0001F600")
    return [describe(seq) for seq in candidates() if _is_one_glyph(font, seq, advance)]


def render(font: ImageFont.FreeTypeFont, sequence: str, size: int = IMAGE_SIZE) -> np.ndarray:
    """One emoji on white, cropped to its artwork, centred in a square, as (size, size, 3)."""
    cell = (int(font.getlength(sequence)) + 8, FONT_SIZE + 32)
    layer = Image.new("RGBA", cell, (255, 255, 255, 0))
    ImageDraw.Draw(layer).text((4, 4), sequence, font=font, embedded_color=True)
    box = layer.getchannel("A").getbbox()
    art = layer.crop(box)
    side = max(art.size) + 4
    square = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    square.alpha_composite(art, ((side - art.width) // 2, (side - art.height) // 2))
    return np.asarray(square.convert("RGB").resize((size, size), Image.Resampling.LANCZOS))


def build(split: str | None = None, limit: int | None = None) -> LabelledImages:
    """Render the dataset, or only the first `limit` images of `split` when both are given."""
    font = _font()
    emoji = catalogue(font)
    validation = np.zeros(len(emoji), dtype=bool)
    validation[split_indices(len(emoji), VALIDATION_FRACTION, SEED)[1]] = True
    keep = np.arange(len(emoji)) if split is None else split_positions(validation, split, limit)
    chosen = [emoji[i] for i in keep]
    images = np.zeros((len(chosen), IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    for row, item in enumerate(tqdm(chosen, desc="emoji", unit="img", disable=None)):
        images[row] = render(font, item.sequence)
    categories = {"gender": GENDERS, "skin_tone": SKIN_TONES, "age": AGES, "profession": PROFESSIONS}
    labels = {
        name: np.array([values.index(item.labels[name]) for item in chosen], dtype=np.int64)
        for name, values in categories.items()
    }
    for name in BINARY_LABELS:
        labels[name] = np.array([item.labels[name] for item in chosen], dtype=bool)
    return LabelledImages(
        name="emoji",
        images=images,
        labels=labels,
        validation=validation[keep],
        categories=categories,
        licence=LICENCE,
        source=SOURCE,
        image_names=tuple(f"{item.sequence} {item.name}" for item in chosen),
        version=CACHE_VERSION,
    )
