"""Specifications of explorer.index: exact and HNSW search, exclude-self, save / load, refusals."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import explorer.index as index_module
from explorer import cli
from explorer.data.base import ImageDataset
from explorer.index import (
    IndexMismatch,
    IndexMissing,
    PackIndex,
    build_index,
    index_params,
)
from explorer.models.base import ExplorableModel
from explorer.training import TrainingSplit


def clustered(count: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))
    return (centres[rng.integers(0, 20, count)] + 0.3 * rng.normal(size=(count, dim))).astype(np.float32)


def numpy_exact(database: np.ndarray, queries: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    if metric == "cosine":
        unit = database / np.linalg.norm(database, axis=1, keepdims=True)
        distances = 1.0 - (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ unit.T
    else:
        distances = np.linalg.norm(queries[:, None, :] - database[None, :, :], axis=2)
    order = np.argsort(distances, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(distances, order, 1), order


def make_index(count: int = 200, dim: int = 8, metric: str = "l2", **kwargs) -> PackIndex:
    latents = clustered(count, dim)
    thumbnails = np.random.default_rng(1).integers(0, 256, (count, 4, 4, 1), dtype=np.uint8)
    labels = {"kind": np.arange(count) % 3, "odd": np.arange(count) % 2 == 1}
    return PackIndex.create(
        latents,
        thumbnails,
        metric=metric,
        pack="tiny",
        weights_hash="abc123",
        labels=labels,
        categories={"kind": ["a", "b", "c"]},
        **kwargs,
    )


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_exact_search_matches_numpy(metric):
    index = make_index(metric=metric)
    queries = clustered(15, 8, seed=5)
    distances, ids = index.search(queries, k=7)
    want_distances, want_ids = numpy_exact(index.latents, queries, 7, metric)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(distances, want_distances, atol=1e-4)


def test_one_latent_gives_one_row_of_hits():
    index = make_index()
    distances, ids = index.search(index.latents[3], k=4)
    assert distances.shape == ids.shape == (4,)
    assert ids[0] == 3 and distances[0] == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_exclude_self_drops_the_query_itself(metric):
    index = make_index(metric=metric)
    chosen = np.array([0, 17, 123])
    distances, ids = index.search(index.latents[chosen], k=5, exclude_self=True)
    _, exact = numpy_exact(index.latents, index.latents[chosen], 6, metric)
    assert ids.shape == (3, 5)
    assert not np.isin(chosen[:, None], ids).any(axis=1).any()
    np.testing.assert_array_equal(ids, exact[:, 1:])


def test_exclude_self_keeps_the_nearest_hits_of_an_outside_query():
    index = make_index()
    outside = clustered(4, 8, seed=9) + 5.0
    np.testing.assert_array_equal(index.search(outside, 6, exclude_self=True)[1], index.search(outside, 6)[1])


def test_neighbours_drop_own_id_but_keep_an_exact_duplicate():
    latents = clustered(50, 4)
    latents[10] = latents[20]
    index = PackIndex.create(latents, np.zeros((50, 2, 2, 1), np.uint8), ids=np.arange(50) * 10 + 1000)
    distances, ids = index.neighbours(1200, k=3)
    assert 1200 not in ids and ids[0] == 1100 and distances[0] == pytest.approx(0.0, abs=1e-5)


def test_search_returns_the_stored_ids():
    ids = np.arange(200, dtype=np.int64)[::-1] * 7 + 3
    index = PackIndex.create(clustered(200, 8), np.zeros((200, 1, 1, 1), np.uint8), ids=ids)
    _, found = index.search(index.latents[:5], k=1)
    np.testing.assert_array_equal(found[:, 0], ids[:5])
    np.testing.assert_array_equal(index.rows_of(ids[[4, 0, 9]]), [4, 0, 9])
    with pytest.raises(ValueError, match="not in the index"):
        index.rows_of(2)


def test_k_above_count_pads_with_minus_one_and_infinity():
    index = make_index(count=5)
    distances, ids = index.search(index.latents[0], k=8)
    assert (ids[5:] == -1).all() and np.isinf(distances[5:]).all() and set(ids[:5]) == set(range(5))


@pytest.mark.parametrize(
    "queries, message",
    [(np.zeros(7), r"shape \(n, 8\)"), (np.full((2, 8), np.nan), "NaN"), (np.zeros((2, 3, 8)), "shape")],
)
def test_bad_queries_raise_value_error(queries, message):
    with pytest.raises(ValueError, match=message):
        make_index().search(queries, k=3)


def test_auto_kind_is_exact_up_to_the_threshold_and_hnsw_above(monkeypatch):
    monkeypatch.setattr(index_module, "EXACT_MAX", 100)
    assert index_params(build_index(clustered(100, 4), "l2"))["kind"] == "flat"
    assert index_params(build_index(clustered(101, 4), "l2"))["kind"] == "hnsw"


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_hnsw_recall_at_10_is_high_on_a_few_thousand_points(metric):
    points = clustered(3100, 16)
    index = PackIndex.create(points[:3000], np.zeros((3000, 1, 1, 1), np.uint8), metric=metric, kind="hnsw")
    queries = points[3000:]
    _, found = index.search(queries, k=10)
    _, exact = numpy_exact(index.latents, queries, 10, metric)
    recall = np.mean([len(np.intersect1d(a, b)) / 10 for a, b in zip(found, exact)])
    assert recall >= 0.95


def test_round_trip_keeps_everything_and_the_hnsw_parameters(tmp_path):
    index = make_index(count=300, metric="cosine", kind="hnsw", hnsw_m=8, ef_search=37)
    index.save(tmp_path / "tiny")
    loaded = PackIndex.load(tmp_path / "tiny", weights_hash="abc123")
    assert loaded.metadata["index"] == {"kind": "hnsw", "M": 8, "efConstruction": 40, "efSearch": 37}
    assert index_module.faiss.downcast_index(loaded.index).hnsw.efSearch == 37
    for key in ("pack", "split", "latent_dim", "metric", "count", "weights_hash", "created", "faiss_version"):
        assert loaded.metadata[key] == index.metadata[key]
    np.testing.assert_array_equal(loaded.latents, index.latents)
    np.testing.assert_array_equal(loaded.ids, index.ids)
    np.testing.assert_array_equal(loaded.thumbnails, index.thumbnails)
    assert loaded.labels.keys() == index.labels.keys()
    for name in index.labels:
        np.testing.assert_array_equal(loaded.labels[name], index.labels[name])
        assert loaded.labels[name].dtype == index.labels[name].dtype
    assert loaded.categories == {"kind": ["a", "b", "c"]}
    queries = clustered(5, 8, seed=4)
    np.testing.assert_array_equal(loaded.search(queries, 5)[1], index.search(queries, 5)[1])
    files = sorted(path.name for path in (tmp_path / "tiny").iterdir())
    assert files == ["index.faiss", "index.json", "validation.npz", "validation.thumbnails.npy"]
    assert isinstance(loaded.thumbnails, np.memmap)  # mapped, not read into memory


def test_load_refuses_an_index_built_for_other_weights(tmp_path):
    make_index().save(tmp_path / "tiny")
    message = r"index built for weights abc123, pack has def456: rebuild with `latent-explorer index --pack tiny`"
    with pytest.raises(IndexMismatch, match=message):
        PackIndex.load(tmp_path / "tiny", weights_hash="def456")


def test_load_without_an_index_says_how_to_build_one(tmp_path):
    with pytest.raises(IndexMissing, match="latent-explorer index --pack nothing") as raised:
        PackIndex.load(tmp_path / "nothing")
    assert isinstance(raised.value, FileNotFoundError)


def test_load_with_a_missing_file_raises_index_missing(tmp_path):
    make_index().save(tmp_path / "tiny")
    (tmp_path / "tiny" / "validation.npz").unlink()
    with pytest.raises(IndexMissing, match="validation.npz is missing"):
        PackIndex.load(tmp_path / "tiny")


@pytest.mark.parametrize("name", ["index.faiss", "validation.npz", "validation.thumbnails.npy"])
def test_load_refuses_a_corrupt_file(tmp_path, name):
    make_index().save(tmp_path / "tiny")
    path = tmp_path / "tiny" / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexMismatch, match="corrupt") as raised:
        PackIndex.load(tmp_path / "tiny")
    assert isinstance(raised.value, ValueError)


def test_load_refuses_corrupt_metadata(tmp_path):
    make_index().save(tmp_path / "tiny")
    (tmp_path / "tiny" / "index.json").write_text("{not json")
    with pytest.raises(IndexMismatch, match="not valid JSON"):
        PackIndex.load(tmp_path / "tiny")


def test_a_save_that_fails_midway_leaves_the_previous_index_intact(tmp_path, monkeypatch):
    first = make_index()
    first.save(tmp_path / "tiny")
    before = {path.name: path.read_bytes() for path in (tmp_path / "tiny").iterdir()}
    real_fsync, calls = os.fsync, []

    def failing_fsync(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError("disk full")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    second = PackIndex.create(clustered(120, 8, seed=7), np.zeros((120, 4, 4, 1), np.uint8), pack="tiny")
    with pytest.raises(OSError, match="disk full"):
        second.save(tmp_path / "tiny")
    assert {path.name: path.read_bytes() for path in (tmp_path / "tiny").iterdir()} == before
    assert len(PackIndex.load(tmp_path / "tiny", weights_hash="abc123")) == len(first)


def test_metadata_is_plain_json_listing_the_other_files(tmp_path):
    directory = make_index().save(tmp_path / "tiny")
    metadata = json.loads((directory / "index.json").read_text())
    assert metadata["metric"] == "l2" and metadata["count"] == 200 and metadata["latent_dim"] == 8
    assert set(metadata["files"]) == {"index.faiss", "validation.npz", "validation.thumbnails.npy"}


def test_a_format_1_index_with_thumbnails_inside_its_npz_still_loads(tmp_path):
    index = make_index()
    directory = index.save(tmp_path / "tiny")
    with np.load(directory / "validation.npz") as arrays:
        old = dict(arrays, thumbnails=index.thumbnails)
    np.savez_compressed(directory / "validation.npz", **old)
    (directory / "validation.thumbnails.npy").unlink()
    metadata = json.loads((directory / "index.json").read_text())
    metadata["format"] = 1
    metadata["files"] = {"index.faiss": metadata["files"]["index.faiss"],
                         "validation.npz": index_module._sha256((directory / "validation.npz").read_bytes())}
    (directory / "index.json").write_text(json.dumps(metadata))
    loaded = PackIndex.load(directory, weights_hash="abc123")
    np.testing.assert_array_equal(loaded.thumbnails, index.thumbnails)

class TinyModel(torch.nn.Module):
    latent_dim = 3
    prior = "gaussian"
    image_shape = (6, 6, 1)

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.encoder = torch.nn.Linear(36, 3)
        self.decoder = torch.nn.Linear(3, 36)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images.flatten(1))

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(latents)).view(-1, 1, 6, 6)


def tiny_pack(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(
        name="tiny",
        model=ExplorableModel(TinyModel()),
        weights_hash="w1",
        card={"index": {"metric": "cosine"}},
        dataset_name="tinyset",
        is_imported=False,
        index_dir=tmp_path / "indexes" / "tiny",
    )


def tiny_dataset(count: int = 70) -> ImageDataset:
    images = np.random.default_rng(0).integers(0, 256, (count, 6, 6, 1), dtype=np.uint8)
    return ImageDataset(
        name="tinyset",
        split="validation",
        images=images,
        labels={"shade": np.arange(count) % 2},
        categories={"shade": ["dark", "light"]},
    )


def test_build_pack_index_encodes_and_keeps_the_held_out_images(tmp_path):
    pack, dataset = tiny_pack(tmp_path), tiny_dataset()
    built = index_module.build_pack_index(pack, dataset, batch_size=16, device="cpu", progress=False)
    np.testing.assert_allclose(built.latents, pack.model.encode_images(dataset.images), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(built.thumbnails, dataset.images)
    np.testing.assert_array_equal(built.labels["shade"], dataset.labels["shade"])
    assert built.categories == {"shade": ["dark", "light"]}
    assert built.metadata["weights_hash"] == "w1" and built.metadata["metric"] == "cosine"
    assert built.metadata["pack"] == "tiny" and built.metadata["index"]["kind"] == "flat"
    assert pack.model.device == torch.device("cpu")


def test_build_pack_index_streams_thumbnails_to_a_staging_file_that_save_moves_into_place(tmp_path):
    pack, dataset = tiny_pack(tmp_path), tiny_dataset()
    directory = tmp_path / "out"
    directory.mkdir()
    built = index_module.build_pack_index(pack, dataset, batch_size=16, device="cpu", progress=False,
                                          stage_in=directory)
    assert isinstance(built.thumbnails, np.memmap) and [p.name.startswith(".") for p in directory.iterdir()] == [True]
    built.save(directory)
    assert sorted(p.name for p in directory.iterdir()) == [
        "index.faiss", "index.json", "validation.npz", "validation.thumbnails.npy"]
    loaded = PackIndex.load(directory, weights_hash="w1")
    np.testing.assert_array_equal(loaded.thumbnails, dataset.images)
    np.testing.assert_allclose(loaded.latents, pack.model.encode_images(dataset.images), rtol=1e-5, atol=1e-6)


def test_index_command_builds_and_saves_the_pack_index(tmp_path, monkeypatch, capsys):
    import explorer.data
    import explorer.packs

    pack = tiny_pack(tmp_path)
    monkeypatch.setattr(explorer.packs, "open_pack", lambda name: pack)
    monkeypatch.setattr(explorer.data, "load_dataset", lambda name, split: tiny_dataset(70 if split == "validation"
                                                                                        else 90))
    assert cli.main(["index", "--pack", "tiny", "--metric", "l2", "--device", "cpu"]) == 0
    loaded = PackIndex.load(pack.index_dir, weights_hash="w1")
    assert len(loaded) == 70 and loaded.metric == "l2"
    out = capsys.readouterr().out
    assert "indexed 70 validation images" in out and "encoded 90 training images" in out
    training = TrainingSplit.load(pack.index_dir, weights_hash="w1")
    np.testing.assert_allclose(training.latents, pack.model.encode_images(tiny_dataset(90).images), atol=2e-3)
    np.testing.assert_array_equal(training.labels["shade"], np.arange(90) % 2)
    assert training.categories == {"shade": ["dark", "light"]}
