"""What sessions share: opened once per process, computed once per key, and clear when missing."""

from __future__ import annotations

import threading
import time

import pytest

from explorer.app.resources import PackUnavailable, resources_for


def test_a_pack_is_opened_once_per_process(tiny_pack):
    assert resources_for(tiny_pack) is resources_for(tiny_pack)


def test_a_missing_pack_names_the_installed_ones(tiny_pack):
    with pytest.raises(PackUnavailable, match=f"installed packs: {tiny_pack}"):
        resources_for("no-such-pack")


def test_a_value_is_computed_once_even_when_asked_for_concurrently(tiny_pack):
    resources = resources_for(tiny_pack)
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return 42

    results = []
    threads = [threading.Thread(target=lambda: results.append(resources._cached(("test-key",), slow)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 4 and len(calls) == 1


def test_attribute_vectors_are_cached_per_method(tiny_pack):
    resources = resources_for(tiny_pack)
    plain = resources.attribute_vector("even", "plain")
    assert resources.attribute_vector("even", "plain") is plain
    assert resources.attribute_vector("even", "balanced") is not plain


def test_masks_split_categorical_labels_into_values(tiny_pack):
    masks = resources_for(tiny_pack).masks
    assert {"digit=0", "digit=9", "even", "loop", "large"} <= set(masks)
