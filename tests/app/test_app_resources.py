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


def test_the_shared_vectors_are_the_index_vectors_of_each_method(tiny_pack):
    import numpy as np

    from explorer.attributes import blur, default_confounders
    from explorer.latent import attributes as la

    resources = resources_for(tiny_pack)
    latents, masks = np.asarray(resources.index.latents, np.float32), resources.masks
    confounders = tuple(default_confounders(masks, "even"))
    balanced = la.balanced_attribute_vector(latents, {c: masks[c] for c in ("even", *confounders)}, "even", confounders)
    blurred = resources.model.encode_images(blur(np.asarray(resources.index.thumbnails)))
    expected = {
        ("even", "plain"): la.attribute_vector(latents, masks["even"]),
        ("even", "balanced"): balanced.vector,
        ("blur", "synthetic"): la.synthetic_attribute_vector(latents, blurred),
    }
    assert confounders
    for (attribute, method), vector in expected.items():
        np.testing.assert_allclose(resources.attribute_vector(attribute, method), vector.astype(np.float32), rtol=1e-6)
