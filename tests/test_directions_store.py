"""Named directions persist per pack and weights, export and import as JSON, and are written atomically."""

import json
import threading

import numpy as np
import pytest

import explorer.atomic
from explorer.directions_store import DirectionsError, DirectionsMismatch, DirectionStore

WEIGHTS = "dd6300a4eb49fe05"
DIM = 6


@pytest.fixture
def store(tmp_path):
    return DirectionStore(tmp_path / "emoji-data", "emoji", WEIGHTS, DIM)


def _vector(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(DIM)


def test_a_saved_direction_loads_back_bit_for_bit(store, tmp_path):
    vector = _vector() / 3.0
    store.save("smile-ish", vector, source="custom", details={"group_a": [1, 2], "group_b": [7]})
    reopened = DirectionStore(tmp_path / "emoji-data", "emoji", WEIGHTS, DIM)
    np.testing.assert_array_equal(reopened.load("smile-ish"), vector)
    saved = reopened.all()[0]
    assert (saved.name, saved.source, saved.details) == ("smile-ish", "custom", {"group_a": [1, 2], "group_b": [7]})


def test_the_file_is_named_by_pack_and_weights(store, tmp_path):
    store.save("a", _vector())
    assert store.path == tmp_path / "emoji-data" / f"emoji.{WEIGHTS}.directions.json"
    assert store.path.is_file()


def test_directions_keep_the_order_they_were_saved_in(store):
    for name in ("c", "a", "b"):
        store.save(name, _vector())
    assert store.names() == ["c", "a", "b"]


def test_an_existing_name_is_refused_unless_overwritten(store):
    store.save("a", _vector(0))
    with pytest.raises(DirectionsError, match="a direction called 'a' exists already"):
        store.save("a", _vector(1))
    store.save("a", _vector(1), overwrite=True)
    np.testing.assert_array_equal(store.load("a"), _vector(1))
    assert store.names() == ["a"]


def test_delete_forgets_a_direction(store):
    store.save("a", _vector(0))
    store.save("b", _vector(1))
    store.delete("a")
    assert store.names() == ["b"]
    with pytest.raises(KeyError, match="no direction 'a'"):
        store.delete("a")


def test_export_then_import_into_another_folder_round_trips(store, tmp_path):
    store.save("a", _vector(0), source="pca")
    store.save("b", _vector(1))
    other = DirectionStore(tmp_path / "elsewhere", "emoji", WEIGHTS, DIM)
    assert other.import_json(store.export_json()) == ["a", "b"]
    assert [(s.name, s.source, s.created) for s in other.all()] == [(s.name, s.source, s.created) for s in store.all()]
    for name in ("a", "b"):
        np.testing.assert_array_equal(other.load(name), store.load(name))


def test_export_can_pick_directions_by_name(store):
    store.save("a", _vector(0))
    store.save("b", _vector(1))
    document = json.loads(store.export_json(["b"]))
    assert [entry["name"] for entry in document["directions"]] == ["b"]
    assert document["weights_hash"] == WEIGHTS and document["pack"] == "emoji"


def test_an_import_made_for_other_weights_is_refused_naming_both(store, tmp_path):
    store.save("a", _vector())
    retrained = DirectionStore(tmp_path / "emoji-data", "emoji", "0123456789abcdef", DIM)
    with pytest.raises(DirectionsMismatch, match=f"weights '{WEIGHTS}'.*has weights '0123456789abcdef'"):
        retrained.import_json(store.export_json())
    assert retrained.names() == []


def test_an_import_of_another_latent_size_is_refused(store, tmp_path):
    store.save("a", _vector())
    with pytest.raises(DirectionsMismatch, match="latent size 6.*latent size 8"):
        DirectionStore(tmp_path / "x", "emoji", WEIGHTS, 8).import_json(store.export_json())


def test_a_retrained_pack_starts_with_no_directions(store, tmp_path):
    store.save("a", _vector())
    assert DirectionStore(tmp_path / "emoji-data", "emoji", "fedcba9876543210", DIM).names() == []
    assert store.names() == ["a"]


def test_an_import_clashing_with_a_saved_name_changes_nothing(store, tmp_path):
    store.save("a", _vector(0))
    other = DirectionStore(tmp_path / "other", "emoji", WEIGHTS, DIM)
    other.save("z", _vector(2))
    other.save("a", _vector(1))
    with pytest.raises(DirectionsError, match="'a' exists already"):
        store.import_json(other.export_json())
    assert store.names() == ["a"]
    assert store.import_json(other.export_json(), overwrite=True) == ["z", "a"]
    np.testing.assert_array_equal(store.load("a"), _vector(1))


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "is not valid JSON"),
    ('{"format": "something else"}', "not a Latent Explorer directions file"),
    (json.dumps({"format": "latent-explorer directions", "version": 99}), "has version 99"),
])
def test_a_malformed_import_is_refused_with_the_reason(store, text, message):
    with pytest.raises(DirectionsError, match=message):
        store.import_json(text)


def test_a_vector_of_the_wrong_size_or_not_finite_is_refused(store):
    with pytest.raises(DirectionsError, match=r"must have shape \(6,\), got \(5,\)"):
        store.save("a", np.ones(5))
    with pytest.raises(DirectionsError, match="finite and not all zero"):
        store.save("a", np.r_[np.nan, np.ones(5)])
    with pytest.raises(DirectionsError, match="a direction name must be a non-empty string"):
        store.save("  ", np.ones(DIM))


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(store, monkeypatch):
    store.save("a", _vector(0))
    before = store.path.read_bytes()

    def failing_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(explorer.atomic.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        store.save("b", _vector(1))
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert [path.name for path in store.path.parent.iterdir()] == [store.path.name]
    assert store.names() == ["a"]


def test_a_corrupt_file_is_reported_with_its_path(store):
    store.save("a", _vector())
    store.path.write_text("{ torn")
    with pytest.raises(DirectionsError, match=f"{store.path}.*not valid JSON.*restore it or delete it"):
        store.names()


def test_saves_from_many_threads_are_all_kept(tmp_path):
    stores = [DirectionStore(tmp_path, "emoji", WEIGHTS, DIM) for _ in range(4)]
    threads = [threading.Thread(target=lambda i=i: [stores[i % 4].save(f"d{i}-{j}", _vector(j)) for j in range(5)])
               for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(stores[0].names()) == sorted(f"d{i}-{j}" for i in range(8) for j in range(5))


def test_a_pack_name_with_a_path_is_refused(tmp_path):
    with pytest.raises(DirectionsError, match="pack must be a plain pack name"):
        DirectionStore(tmp_path, "../emoji", WEIGHTS, DIM)
