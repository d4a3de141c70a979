"""Attribute data: label masks, confounders, the synthetic registry, the one attribute_vector and AtDot judging."""

from __future__ import annotations

import numpy as np
import pytest

from explorer import attributes
from explorer.latent import attributes as la


@pytest.fixture
def labelled():
    """Latents (300, 6) with a target label, a correlated confounder and a noise label."""
    rng = np.random.default_rng(0)
    target = rng.random(300) < 0.5
    related = np.where(rng.random(300) < 0.7, target, ~target)
    latents = rng.normal(size=(300, 6)) + 2.0 * target[:, None] * np.eye(6)[0] + 1.5 * related[:, None] * np.eye(6)[1]
    masks = {"target": target, "related": related, "noise": rng.random(300) < 0.5}
    return latents, masks


def test_label_masks_split_categories_and_drop_constant_labels():
    labels = {"kind": np.array([0, 1, 2, 1, 0, 1]), "odd": np.array([1, 0, 1, 0, 1, 0]), "all": np.ones(6)}
    masks = attributes.label_masks(labels, {"kind": ["a", "b", "c"]})
    assert sorted(masks) == ["kind=a", "kind=b", "odd"]  # kind=c has one image, "all" no negatives


def test_default_confounders_skip_labels_that_leave_a_cell_empty():
    rng = np.random.default_rng(0)
    target = rng.random(400) < 0.5
    nested = target & (rng.random(400) < 0.9)  # every nested image is a target: a cell is empty
    related = np.where(rng.random(400) < 0.7, target, ~target)
    masks = {"target": target, "nested": nested, "related": related, "noise": rng.random(400) < 0.5}
    assert attributes.default_confounders(masks, "target") == ["related"]


def test_the_plain_vector_is_the_difference_of_means(labelled):
    latents, masks = labelled
    built = attributes.attribute_vector(latents, masks, "target", "plain")
    assert built.method == "plain" and built.cells is None
    np.testing.assert_array_equal(built.vector, la.attribute_vector(latents, masks["target"]))


def test_the_balanced_vector_balances_over_the_default_confounders(labelled):
    latents, masks = labelled
    built = attributes.attribute_vector(latents, masks, "target", "balanced")
    confounders = tuple(attributes.default_confounders(masks, "target"))
    expected = la.balanced_attribute_vector(latents, {c: masks[c] for c in ("target", *confounders)}, "target",
                                            confounders)
    assert built.method == "balanced" and built.balance == confounders == ("related",)
    np.testing.assert_array_equal(built.vector, expected.vector)
    assert sum(row["images"] for row in built.cells) == len(latents)


def test_a_balanced_vector_over_nothing_is_the_plain_one(labelled):
    latents, masks = labelled
    built = attributes.attribute_vector(latents, masks, "target", "balanced", balance=())
    assert built.method == "plain"
    np.testing.assert_array_equal(built.vector, la.attribute_vector(latents, masks["target"]))


def test_a_synthetic_attribute_always_has_its_synthetic_vector(labelled):
    latents, _ = labelled
    augmented = latents + np.array([1.0, 0, 0, 0, 0, -2.0])
    for method in ("plain", "balanced", "synthetic"):
        built = attributes.attribute_vector(latents, {}, "blur", method, augmented=augmented)
        assert built.method == "synthetic"
        np.testing.assert_array_equal(built.vector, la.synthetic_attribute_vector(latents, augmented))


def test_a_synthetic_vector_without_the_edited_encodings_says_what_it_needs(labelled):
    with pytest.raises(ValueError, match="encodings of the edited images"):
        attributes.attribute_vector(labelled[0], {}, "blur", "synthetic")


def test_a_label_has_no_synthetic_vector_and_unknown_methods_are_refused(labelled):
    latents, masks = labelled
    with pytest.raises(ValueError, match="a synthetic vector exists only for blur, not 'target'"):
        attributes.attribute_vector(latents, masks, "target", "synthetic")
    with pytest.raises(ValueError, match="method must be one of plain, balanced, synthetic, got 'mean'"):
        attributes.attribute_vector(latents, masks, "target", "mean")
    with pytest.raises(ValueError, match="no label 'smiling'; the labels are noise, related, target"):
        attributes.attribute_vector(latents, masks, "smiling")


def test_the_synthetic_registry_decides_the_methods_offered():
    assert attributes.methods_for("blur") == ["synthetic"] and attributes.default_method("blur") == "synthetic"
    assert attributes.methods_for("even") == ["plain", "balanced"] and attributes.default_method("even") == "plain"


def test_edited_latents_encode_the_edited_images():
    images = np.zeros((2, 8, 8, 1), np.uint8)
    images[:, 4, 4] = 255
    edited = attributes.edited_latents("blur", images, lambda batch: batch.reshape(len(batch), -1).astype(float))
    np.testing.assert_array_equal(edited, attributes.blur(images).reshape(2, -1))
    assert edited[0, 4 * 8 + 4] < 255 and edited[0, 4 * 8 + 5] > 0  # the spot spread out
    with pytest.raises(ValueError, match="'even' is not a synthetic attribute"):
        attributes.edited_latents("even", images, lambda batch: batch)


def test_judging_a_perfect_attribute_gives_auc_one():
    rng = np.random.default_rng(0)
    mask = rng.random(200) < 0.5
    latents = rng.normal(size=(200, 4)) + 5.0 * mask[:, None] * np.array([1, 0, 0, 0])
    result = attributes.judge_attribute(latents, {"x": mask}, "x")
    assert result["auc"] > 0.99 and result["accuracy"] > 0.95 and result["test_size"] == 100


def test_judging_an_attribute_absent_from_a_half_explains_why():
    mask = np.zeros(10, bool)
    mask[0] = True
    with pytest.raises(ValueError, match="cannot be judged"):
        attributes.judge_attribute(np.zeros((10, 2)), {"x": mask}, "x", seed=3)


def test_judging_builds_the_vector_on_one_half_and_scores_the_other(labelled):
    latents, masks = labelled
    result = attributes.judge_attribute(latents, masks, "target", "balanced")
    build, test = attributes.split_halves(len(latents))
    halves = {name: mask[build] for name, mask in masks.items()}
    vector = attributes.attribute_vector(latents[build], halves, "target", "balanced",
                                         balance=attributes.default_confounders(masks, "target")).vector
    expected = attributes.judge_vector(vector, (latents[build], masks["target"][build]),
                                       (latents[test], masks["target"][test]))
    assert result["method"] == "balanced" and result["cell_counts"]
    assert result["auc"] == expected["auc"] and result["threshold"] == expected["threshold"]
    np.testing.assert_array_equal(result["positives"], expected["positives"])


def test_judging_a_vector_takes_its_threshold_from_the_building_set():
    vector = np.array([1.0, 0.0])
    build = (np.array([[0.0, 0], [1, 0], [2, 0], [3, 0]]), np.array([False, False, True, True]))
    test = (np.array([[0.5, 0], [2.5, 0], [1.5, 0]]), np.array([False, True, True]))
    result = attributes.judge_vector(vector, build, test)
    assert result["threshold"] == 2.0 and result["accuracy"] == pytest.approx(2 / 3)
    assert result["auc"] == 1.0 and (result["train_size"], result["test_size"]) == (4, 3)


def test_judging_the_synthetic_vector_tells_edited_from_original_encodings(labelled):
    latents, _ = labelled
    result = attributes.judge_attribute(latents, {}, "blur", augmented=latents + 3.0)
    assert result["method"] == "synthetic" and result["auc"] > 0.99 and result["test_size"] == 2 * 150
