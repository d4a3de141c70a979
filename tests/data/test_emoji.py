from pathlib import Path

import numpy as np
import pytest

from explorer.data import DatasetUnavailable, emoji, load_dataset

needs_font = pytest.mark.skipif(
    not emoji.FONT_PATH.exists(), reason="apt-get install fonts-noto-color-emoji"
)
WOMAN_RED_HAIR_MEDIUM = "\U0001F469\U0001F3FD\u200d\U0001F9B0"  # 👩🏽‍🦰
MAN_GUITAR = "\U0001F468\u200d\U0001F3B8"  # not an emoji: drawn as man + guitar


def test_woman_red_hair_medium_skin_is_parsed_from_the_sequence() -> None:
    item = emoji.describe(WOMAN_RED_HAIR_MEDIUM)
    assert item.labels["gender"] == "woman"
    assert item.labels["skin_tone"] == "medium"
    assert item.labels["red_hair"] and not item.labels["curly_hair"]
    assert item.labels["age"] == "adult" and not item.labels["is_face"]
    assert item.name == "woman: red hair, medium skin tone"


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [
        ("\U0001F474", {"age": "older", "gender": "man", "white_hair": True, "bald": True}),
        (
            "\U0001F9D1\U0001F3FF\u200d\U0001F692",
            {"profession": "firefighter", "skin_tone": "dark", "headwear": True},
        ),
        (
            "\U0001F575\ufe0f\u200d\u2640\ufe0f",
            {"profession": "detective", "gender": "woman", "skin_tone": "default"},
        ),
        ("\U0001F9D4\U0001F3FB\u200d\u2642\ufe0f", {"beard": True, "gender": "man", "skin_tone": "light"}),
        ("\U0001F467\U0001F3FE", {"age": "child", "gender": "woman", "skin_tone": "medium-dark"}),
        ("\U0001F937\u200d\u2642\ufe0f", {"gesture": True, "gender": "man", "profession": "none"}),
        ("\U0001F9D9\U0001F3FC", {"fantasy": True, "gender": "person", "headwear": True}),
    ],
)
def test_people_attributes_follow_the_sequence_rules(sequence: str, expected: dict) -> None:
    labels = emoji.describe(sequence).labels
    assert {name: labels[name] for name in expected} == expected


def test_face_expressions_come_from_the_unicode_name() -> None:
    joy = emoji.describe("\U0001F602").labels  # face with tears of joy
    assert joy["is_face"] and joy["smiling"] and joy["tears"] and not joy["frowning"]
    kiss = emoji.describe("\U0001F61A").labels  # kissing face with closed eyes
    assert kiss["kissing"] and kiss["eyes_closed"] and not kiss["smiling"]
    assert emoji.describe("\U0001F920").labels["headwear"]  # face with cowboy hat
    assert emoji.describe("\U0001F62E\u200d\U0001F4A8").name == "face exhaling"


@pytest.mark.parametrize("sequence", ["\U0001F355", "\U0001F600\U0001F3FB", "\U0001F9DF\U0001F3FB", MAN_GUITAR])
def test_sequences_outside_the_rules_are_refused(sequence: str) -> None:
    with pytest.raises(ValueError, match="emoji|component"):
        emoji.describe(sequence)


def test_every_candidate_is_unique_and_describable() -> None:
    candidates = emoji.candidates()
    assert len(candidates) == len(set(candidates)) > 900
    assert all(emoji.describe(sequence).sequence == sequence for sequence in candidates)


@needs_font
def test_only_sequences_drawn_as_one_glyph_are_kept() -> None:
    font = emoji._font()
    advance = font.getlength("\U0001F600")
    assert emoji._is_one_glyph(font, WOMAN_RED_HAIR_MEDIUM, advance)
    assert not emoji._is_one_glyph(font, MAN_GUITAR, advance)
    assert not emoji._is_one_glyph(font, "\U0010fffd", advance)  # not in the font
    kept = {item.sequence for item in emoji.catalogue(font)}
    assert WOMAN_RED_HAIR_MEDIUM in kept and "\U0001F468\u200d\U0001F384" not in kept


@needs_font
def test_limited_load_renders_64px_rgb_on_white_with_aligned_labels() -> None:
    data = load_dataset("emoji", "validation", limit=6)
    assert data.images.shape == (6, 64, 64, 3) and data.images.dtype == np.uint8
    assert (data.images[:, 0, 0] == 255).all()  # white corners
    assert data.images.std() > 20  # not blank
    assert set(data.categories) == {"gender", "skin_tone", "age", "profession"}
    for name, values in data.labels.items():
        assert values.shape == (6,)
        assert values.dtype == (np.int64 if name in data.categories else bool)
    assert len(data.image_names) == 6 and "Apache-2.0" in data.licence


@needs_font
def test_split_is_seeded_and_disjoint() -> None:
    first = emoji.build("train", 40)
    again = emoji.build("train", 40)
    validation = emoji.build("validation", 40)
    assert first.image_names == again.image_names
    assert not set(first.image_names) & set(validation.image_names)


def test_missing_font_names_the_package_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(emoji, "FONT_PATH", tmp_path / "NotoColorEmoji.ttf")
    with pytest.raises(DatasetUnavailable, match="apt-get install fonts-noto-color-emoji"):
        load_dataset("emoji", "train", limit=2)
