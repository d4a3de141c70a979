"""The encoded training split: saved atomically beside the index, checked against the weights on load."""

import numpy as np
import pytest

from explorer.index import IndexMismatch, IndexMissing
from explorer.training import TRAINING_FILE, TrainingSplit


def split(count: int = 50, scale: float = 1.0) -> TrainingSplit:
    rng = np.random.default_rng(0)
    return TrainingSplit.create((rng.normal(size=(count, 4)) * scale).astype(np.float32),
                                {"kind": np.arange(count) % 3, "odd": np.arange(count) % 2 == 1},
                                {"kind": ["a", "b", "c"]}, pack="tiny", weights_hash="w1")


def test_round_trip_keeps_labels_in_the_index_encoding_and_latents_to_float16_precision(tmp_path):
    saved = split()
    path = saved.save(tmp_path)
    assert path == tmp_path / TRAINING_FILE
    loaded = TrainingSplit.load(tmp_path, weights_hash="w1")
    assert loaded.latents.dtype == np.float32 and loaded.latents.shape == (50, 4)
    np.testing.assert_allclose(loaded.latents, saved.latents, atol=2e-3)
    assert loaded.labels["kind"].dtype == np.int64 and loaded.labels["odd"].dtype == bool
    np.testing.assert_array_equal(loaded.labels["kind"], saved.labels["kind"])
    assert loaded.categories == {"kind": ["a", "b", "c"]}
    assert loaded.metadata["pack"] == "tiny" and loaded.metadata["count"] == 50
    assert loaded.metadata["stored_dtype"] == "float16"


def test_latents_beyond_float16_range_are_stored_as_float32(tmp_path):
    saved = split(scale=1e5)
    saved.save(tmp_path)
    loaded = TrainingSplit.load(tmp_path)
    np.testing.assert_array_equal(loaded.latents, saved.latents)
    assert loaded.metadata["stored_dtype"] == "float32"


def test_a_split_encoded_by_other_weights_is_refused(tmp_path):
    split().save(tmp_path / "tiny")
    with pytest.raises(IndexMismatch, match="encoded by weights w1, the pack has w2.*latent-explorer index --pack tiny"):
        TrainingSplit.load(tmp_path / "tiny", weights_hash="w2")


def test_a_missing_split_says_how_to_build_it(tmp_path):
    with pytest.raises(IndexMissing, match="no encoded training split.*latent-explorer index --pack tiny"):
        TrainingSplit.load(tmp_path / "tiny")


def test_a_truncated_file_is_named(tmp_path):
    path = split().save(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(IndexMismatch, match="cannot be read"):
        TrainingSplit.load(tmp_path)


def test_damaged_latents_are_refused_not_read(tmp_path):
    import zipfile

    path = split().save(tmp_path)
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo("latents.npy")
    data = bytearray(path.read_bytes())
    offset = member.header_offset  # the local header: 30 bytes, then the name and extra field it gives lengths of
    start = offset + 30 + int.from_bytes(data[offset + 26 : offset + 28], "little") + int.from_bytes(
        data[offset + 28 : offset + 30], "little")
    data[start + member.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexMismatch, match="cannot be read"):
        TrainingSplit.load(tmp_path)


def test_labels_must_match_the_latents():
    with pytest.raises(ValueError, match="label 'odd' has shape"):
        TrainingSplit.create(np.zeros((3, 2)), {"odd": np.zeros(4, bool)})


@pytest.mark.parametrize("name", ["emoji", "glyphs", "fashion", "fashion-gan"])
def test_every_shipped_pack_has_its_training_split_in_the_index_label_encoding(name, monkeypatch):
    from explorer.packs import open_pack

    monkeypatch.delenv("LATENT_EXPLORER_ASSETS", raising=False)
    monkeypatch.delenv("LATENT_EXPLORER_INDEXES", raising=False)
    pack = open_pack(name)
    training, index = pack.training, pack.index
    assert len(training) == pack.card["dataset"]["train_images"]
    assert training.latents.shape[1] == index.latents.shape[1] == pack.card["model"]["latent_dim"]
    assert training.labels.keys() == index.labels.keys() and training.categories == index.categories
    for label, values in training.labels.items():
        assert values.dtype == index.labels[label].dtype
