"""What sessions share: opened once per process, computed once per key, and clear when missing."""

from __future__ import annotations

import pytest

from explorer.resources import PackUnavailable, resources_for


def test_a_pack_is_opened_once_per_process(tiny_pack):
    assert resources_for(tiny_pack) is resources_for(tiny_pack)


def test_a_missing_pack_names_the_installed_ones(tiny_pack):
    with pytest.raises(PackUnavailable, match=f"installed packs: {tiny_pack}"):
        resources_for("no-such-pack")


def test_attribute_vectors_are_cached_per_method(tiny_pack):
    resources = resources_for(tiny_pack)
    plain = resources.attribute_vector("even", "plain")
    assert resources.attribute_vector("even", "plain") is plain
    assert resources.attribute_vector("even", "balanced") is not plain


def test_masks_split_categorical_labels_into_values(tiny_pack):
    masks = resources_for(tiny_pack).masks
    assert {"digit=0", "digit=9", "even", "loop", "large"} <= set(masks)


def test_the_shared_vectors_are_the_training_vectors_of_each_method_and_blur_the_index_one(tiny_pack):
    import numpy as np

    from explorer.attributes import blur, default_confounders
    from explorer.latent import attributes as la

    resources = resources_for(tiny_pack)
    latents, masks = np.asarray(resources.training.latents, np.float32), resources.training_masks
    confounders = tuple(default_confounders(masks, "even"))
    balanced = la.balanced_attribute_vector(latents, {c: masks[c] for c in ("even", *confounders)}, "even", confounders)
    held_out = np.asarray(resources.index.latents, np.float32)
    blurred = resources.model.encode_images(blur(np.asarray(resources.index.thumbnails)))
    expected = {
        ("even", "plain"): la.attribute_vector(latents, masks["even"]),
        ("even", "balanced"): balanced.vector,
        ("blur", "synthetic"): la.synthetic_attribute_vector(held_out, blurred),
    }
    assert confounders
    for (attribute, method), vector in expected.items():
        np.testing.assert_allclose(resources.attribute_vector(attribute, method), vector.astype(np.float32), rtol=1e-6)


def test_vectors_are_built_on_the_training_split_and_judged_on_the_held_out_images(tiny_pack):
    import numpy as np

    from explorer import attributes

    resources = resources_for(tiny_pack)
    training = resources.training
    assert training is not None and len(training) > len(resources.latents)
    trained = resources.attribute_vector("even", "plain")
    from_training = attributes.attribute_vector(training.latents, resources.training_masks, "even", "plain").vector
    held_out_only = attributes.attribute_vector(resources.latents, resources.masks, "even", "plain").vector
    np.testing.assert_allclose(trained, from_training, rtol=1e-5, atol=1e-6)
    assert np.abs(trained - held_out_only).max() > 1e-3  # the held-out images alone give another vector
    judged = resources.evaluate_attribute("even", "plain")
    assert judged["test_size"] == len(resources.latents)  # every held-out image is a test image
    assert judged["built_on"] == f"{len(training)} training images"


def test_without_a_training_split_vectors_fall_back_to_held_out_halves(tiny_pack, monkeypatch):
    resources = resources_for(tiny_pack)
    monkeypatch.setitem(resources.__dict__, "training", None)
    monkeypatch.setitem(resources.__dict__, "training_masks", {})
    judged = resources._judge("even", "plain", ())
    assert judged["test_size"] == len(resources.latents) - len(resources.latents) // 2
    assert "held-out images (one half)" in judged["built_on"]
