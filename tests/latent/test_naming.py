"""Directions named after the label their AtDot scores separate best, or "unnamed"."""

import numpy as np
import pytest

from explorer.latent import label_scores, name_direction, name_directions, principal_directions
from explorer.latent.naming import MINUS


@pytest.fixture
def labelled():
    """Latents along three planted axes: the first carries "tall", the second carries "dark" at its
    negative end, the third carries no label; plus "coin", a label unrelated to every axis."""
    rng = np.random.default_rng(3)
    n, d = 1200, 12
    axes = np.linalg.qr(rng.standard_normal((d, d)))[0][:, :3].T
    coordinates = rng.standard_normal((n, 3)) * [5.0, 3.5, 2.5]
    latents = coordinates @ axes + 0.2 * rng.standard_normal((n, d))
    masks = {
        "tall": coordinates[:, 0] + 2.0 * rng.standard_normal(n) > 1.0,
        "dark": coordinates[:, 1] + 1.0 * rng.standard_normal(n) < -0.5,
        "coin": rng.random(n) < 0.5,
    }
    return latents, masks


def test_each_labelled_principal_direction_is_named_after_its_label(labelled):
    latents, masks = labelled
    pcs = principal_directions(latents, count=3).directions
    names = name_directions(latents, pcs, masks)
    assert [name.title for name in names] == ["PC1", "PC2", "PC3"]
    assert names[0].best.label == "tall" and names[0].named
    assert names[1].best.label == "dark" and names[1].named


def test_the_axis_that_carries_no_label_is_unnamed(labelled):
    latents, masks = labelled
    third = principal_directions(latents, count=3).directions[2]
    name = name_direction(latents, third, masks, title="PC3")
    assert name.name == "unnamed" and not name.named
    assert name.best.auc < 0.6
    assert name.display.startswith("PC3: unnamed (best ")


def test_a_label_at_the_negative_end_gets_a_minus_sign(labelled):
    latents, masks = labelled
    second = principal_directions(latents, count=3).directions[1]
    dark = masks["dark"]
    for direction in (second, -second):
        score = next(score for score in label_scores(latents, direction, masks) if score.label == "dark")
        scores = latents @ direction
        assert score.sign == np.sign(scores[dark].mean() - scores[~dark].mean())
    flipped = name_direction(latents, -second, masks)
    plain = name_direction(latents, second, masks)
    assert {flipped.name, plain.name} == {"dark", MINUS + "dark"}
    assert flipped.best.auc == pytest.approx(plain.best.auc)


def test_the_display_string_gives_the_name_and_the_auc(labelled):
    latents, masks = labelled
    first = principal_directions(latents, count=1).directions[0]
    name = name_direction(latents, first, masks, title="PC1")
    assert name.display == f"PC1 \u2248 {name.name} (AUC {name.best.auc:.2f})"


def test_the_auc_read_at_the_carrying_end_is_at_least_one_half(labelled):
    latents, masks = labelled
    rng = np.random.default_rng(0)
    for _ in range(10):
        for score in label_scores(latents, rng.standard_normal(latents.shape[1]), masks):
            assert 0.5 <= score.auc <= 1.0


def test_runners_up_follow_the_best_label_in_order(labelled):
    latents, masks = labelled
    first = principal_directions(latents, count=1).directions[0]
    name = name_direction(latents, first, masks, runners_up=2)
    aucs = [name.best.auc] + [score.auc for score in name.runners_up]
    assert len(name.runners_up) == 2 and aucs == sorted(aucs, reverse=True)


def test_a_higher_threshold_leaves_a_weakly_carried_label_unnamed(labelled):
    latents, masks = labelled
    first = principal_directions(latents, count=1).directions[0]
    auc = name_direction(latents, first, masks).best.auc
    assert name_direction(latents, first, masks, threshold=min(1.0, auc + 0.01)).name == "unnamed"


def test_labels_with_too_few_latents_on_a_side_are_not_used(labelled):
    latents, masks = labelled
    rare = np.zeros(len(latents), bool)
    rare[np.argsort(latents @ principal_directions(latents, count=1).directions[0])[-5:]] = True  # perfect, tiny
    scores = label_scores(latents, latents[0], {**masks, "rare": rare}, min_count=10)
    assert "rare" not in {score.label for score in scores}
    assert "rare" in {score.label for score in label_scores(latents, latents[0], {"rare": rare}, min_count=5)}


def test_the_null_spread_is_the_mann_whitney_standard_deviation(labelled):
    latents, masks = labelled
    coin = next(score for score in label_scores(latents, latents[0], masks) if score.label == "coin")
    n1, n0 = int(masks["coin"].sum()), int((~masks["coin"]).sum())
    assert coin.null_sd == pytest.approx(np.sqrt((n1 + n0 + 1) / (12 * n1 * n0)))


def test_a_threshold_below_one_half_is_refused(labelled):
    latents, masks = labelled
    with pytest.raises(ValueError, match="threshold must be an AUC between 0.5 and 1, got 0.3"):
        name_direction(latents, latents[0], masks, threshold=0.3)


def test_with_no_usable_label_the_direction_is_unnamed():
    latents = np.random.default_rng(0).standard_normal((20, 3))
    name = name_direction(latents, [1.0, 0.0, 0.0], {"few": np.arange(20) < 2}, title="PC1")
    assert name.best is None and name.name == "unnamed" and "enough latents" in name.display
