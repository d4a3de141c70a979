"""FAISS nearest-neighbour index of a pack's encoded held-out images: build, search, save, load.

A pack's index lives in `indexes/<pack>/`:

- `index.faiss`: the FAISS index (exact `IndexFlat` up to `EXACT_MAX` points, HNSW above);
- `<split>.npz`: latents, ids and labels (compressed);
- `<split>.thumbnails.npy`: the held-out images themselves, one uint8 (N, H, W, C) array that
  is opened memory-mapped, so the app shows neighbours with no dataset installed and a server
  holds in memory only the images it has shown (format 1 kept them inside the .npz; still read);
- `index.json`: metadata, written last, with the SHA-256 of the other files so a torn or
  corrupt save is caught on load.

A save replaces the folder as a whole (`explorer.atomic.replace_files`): killed at any point, it
holds the old index or the new one, never a mix.

Distances are "smaller is nearer" for both metrics: cosine distance `1 - cos(q, x)` for
"cosine" (inner product on L2-normalised vectors) and Euclidean distance for "l2".
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import faiss
import numpy as np

from explorer.arrayfile import RowWriter, file_sha256, open_rows
from explorer.atomic import replace_files, staging_path
from explorer.encoding import encode_source

if TYPE_CHECKING:
    import torch

    from explorer.data.base import ImageSource

Metric = Literal["cosine", "l2"]
METRICS: tuple[str, ...] = ("cosine", "l2")
DEFAULT_METRIC: Metric = "l2"
KINDS = ("auto", "flat", "hnsw")
EXACT_MAX = 50_000
# Tuned on 1M clustered 32-d latents on a 2-core CPU (see `latent-explorer bench --only index`).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 128

INDEX_FILE = "index.faiss"
METADATA_FILE = "index.json"
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)  # 1: thumbnails inside <split>.npz
THUMBNAIL_ROWS_PER_WRITE = 4096
# A hit this close to its query is the query itself (see PackIndex.search).
SELF_COSINE_DISTANCE = 1e-5
SELF_L2_RELATIVE = 1e-3


class IndexMissing(FileNotFoundError):
    """A pack's index, or one of its files, is not on disk; the message says how to build it."""


class IndexMismatch(ValueError):
    """A pack's index is corrupt or was built for other weights; the message says how to rebuild."""


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")


def _as_float_rows(latents: np.ndarray, dim: int | None, what: str) -> np.ndarray:
    """(n, d) float32 C-contiguous copy of `latents`, checked for shape and finiteness."""
    array = np.array(latents, dtype=np.float32, order="C", copy=True)
    if array.ndim != 2 or (dim is not None and array.shape[1] != dim):
        want = f"(n, {dim})" if dim is not None else "(n, d)"
        raise ValueError(f"{what} must have shape {want}, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contain NaN or inf")
    return array


def build_index(
    latents: np.ndarray,
    metric: Metric = DEFAULT_METRIC,
    kind: str = "auto",
    *,
    hnsw_m: int = HNSW_M,
    ef_construction: int = HNSW_EF_CONSTRUCTION,
    ef_search: int = HNSW_EF_SEARCH,
) -> faiss.Index:
    """A FAISS index of `latents`: exact up to EXACT_MAX points (kind "auto"), HNSW above."""
    _check_metric(metric)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    vectors = _as_float_rows(latents, None, "latents")
    if kind == "auto":
        kind = "flat" if len(vectors) <= EXACT_MAX else "hnsw"
    faiss_metric = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
    if metric == "cosine":
        faiss.normalize_L2(vectors)
    dim = vectors.shape[1]
    if kind == "flat":
        index = faiss.IndexFlat(dim, faiss_metric)
    else:
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss_metric)
        index.hnsw.efConstruction = ef_construction
        index.hnsw.efSearch = ef_search
    index.add(vectors)
    return index


def index_params(index: faiss.Index) -> dict[str, Any]:
    """The kind and search parameters of a FAISS index built by `build_index`."""
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexHNSW):
        hnsw = index.hnsw
        return {
            "kind": "hnsw",
            "M": int(hnsw.nb_neighbors(1)),
            "efConstruction": int(hnsw.efConstruction),
            "efSearch": int(hnsw.efSearch),
        }
    if isinstance(index, faiss.IndexFlat):
        return {"kind": "flat"}
    raise ValueError(f"unsupported FAISS index type {type(index).__name__}")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PackIndex:
    """A pack's held-out split, encoded: FAISS index, latents, ids, labels, images and metadata."""

    def __init__(
        self,
        index: faiss.Index,
        latents: np.ndarray,
        ids: np.ndarray,
        labels: dict[str, np.ndarray],
        categories: dict[str, list[str]],
        thumbnails: np.ndarray,
        metadata: dict[str, Any],
        staged_thumbnails: Path | None = None,
    ):
        """`staged_thumbnails`: a staging file (explorer.atomic.staging_path) that holds exactly
        `thumbnails` as .npy, which `save` moves into place instead of writing them again."""
        count = len(latents)
        _check_metric(metadata.get("metric", ""))
        if latents.ndim != 2 or latents.dtype != np.float32:
            raise ValueError(f"latents must be float32 (N, d), got {latents.dtype} {latents.shape}")
        if index.ntotal != count or index.d != latents.shape[1]:
            raise ValueError(
                f"FAISS index holds {index.ntotal} vectors of size {index.d}, "
                f"latents are {latents.shape}"
            )
        if ids.shape != (count,) or len(np.unique(ids)) != count:
            raise ValueError(f"ids must be {count} distinct integers, got shape {ids.shape}")
        if thumbnails.dtype != np.uint8 or thumbnails.ndim != 4 or len(thumbnails) != count:
            raise ValueError(
                f"thumbnails must be uint8 ({count}, H, W, C), got {thumbnails.dtype} {thumbnails.shape}"
            )
        for name, values in labels.items():
            if values.shape != (count,):
                raise ValueError(f"label {name!r} has shape {values.shape}, want ({count},)")
        self.index = index
        self.latents = latents
        self.ids = ids.astype(np.int64, copy=False)
        self.labels = labels
        self.categories = categories
        self.thumbnails = thumbnails
        self.metadata = metadata
        self._staged_thumbnails = staged_thumbnails
        self._id_order = np.argsort(self.ids, kind="stable")

    @classmethod
    def create(
        cls,
        latents: np.ndarray,
        thumbnails: np.ndarray,
        *,
        metric: Metric = DEFAULT_METRIC,
        pack: str = "",
        split: str = "validation",
        weights_hash: str = "",
        ids: np.ndarray | None = None,
        labels: dict[str, np.ndarray] | None = None,
        categories: dict[str, list[str]] | None = None,
        kind: str = "auto",
        staged_thumbnails: Path | None = None,
        **hnsw_params: int,
    ) -> "PackIndex":
        """Index `latents` (ids default to their positions) and describe the result in metadata."""
        latents = _as_float_rows(latents, None, "latents")
        index = build_index(latents, metric, kind, **hnsw_params)
        metadata = {
            "format": FORMAT_VERSION,
            "pack": pack,
            "split": split,
            "latent_dim": int(latents.shape[1]),
            "metric": metric,
            "index": index_params(index),
            "count": len(latents),
            "image_shape": list(thumbnails.shape[1:]),
            "weights_hash": weights_hash,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "faiss_version": faiss.__version__,
            "categories": dict(categories or {}),
        }
        return cls(
            index,
            latents,
            np.arange(len(latents), dtype=np.int64) if ids is None else np.asarray(ids, np.int64),
            {name: np.asarray(values) for name, values in (labels or {}).items()},
            dict(categories or {}),
            thumbnails if isinstance(thumbnails, np.ndarray) else np.asarray(thumbnails),  # a memmap stays one
            metadata,
            staged_thumbnails,
        )

    def __len__(self) -> int:
        return len(self.latents)

    @property
    def metric(self) -> Metric:
        """The metric the index was built with: "cosine" or "l2"."""
        return self.metadata["metric"]

    def rows_of(self, ids: np.ndarray | int) -> np.ndarray:
        """Row positions (into latents, labels, thumbnails) of the given ids."""
        wanted = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        positions = np.searchsorted(self.ids, wanted, sorter=self._id_order)
        rows = self._id_order[np.minimum(positions, len(self.ids) - 1)]
        unknown = wanted[self.ids[rows] != wanted]
        if len(unknown):
            raise ValueError(f"ids {unknown[:5].tolist()} are not in the index of pack {self.metadata['pack']!r}")
        return rows

    def search(
        self, latents: np.ndarray, k: int = 10, exclude_self: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """(distances, ids) of the k nearest held-out images to one (d,) or many (n, d) latents.

        With `exclude_self`, each query is taken to be an indexed point looking for its
        neighbours: its nearest hit is dropped when it lies within a cosine distance of
        SELF_COSINE_DISTANCE, or a Euclidean distance of SELF_L2_RELATIVE * max(1, |query|),
        of the query; otherwise the (k+1)-th hit is dropped, so k hits come back either way.
        `neighbours` drops by id instead. Missing hits (k above the count) have id -1 and
        distance inf.
        """
        single = np.ndim(latents) == 1
        queries = _as_float_rows(np.atleast_2d(latents), self.index.d, "query latents")
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        distances, rows = self._search_rows(queries, k + int(exclude_self))
        if exclude_self:
            if self.metric == "cosine":
                tolerance = np.full(len(queries), SELF_COSINE_DISTANCE)
            else:
                tolerance = SELF_L2_RELATIVE * np.maximum(1.0, np.linalg.norm(queries, axis=1))
            is_self = np.zeros(rows.shape, bool)
            is_self[:, 0] = (rows[:, 0] >= 0) & (distances[:, 0] <= tolerance)
            distances, rows = _drop(distances, rows, is_self, k)
        ids = self._ids_of(rows)
        return (distances[0], ids[0]) if single else (distances, ids)

    def neighbours(self, ids: np.ndarray | int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(distances, ids) of the k nearest other held-out images to indexed images `ids`."""
        single = np.ndim(ids) == 0
        own_rows = self.rows_of(ids)
        distances, rows = self._search_rows(self.latents[own_rows], k + 1)
        distances, rows = _drop(distances, rows, rows == own_rows[:, None], k)
        found = self._ids_of(rows)
        return (distances[0], found[0]) if single else (distances, found)

    def _search_rows(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.metric == "cosine":
            faiss.normalize_L2(queries)
        scores, rows = self.index.search(queries, k)
        if self.metric == "cosine":
            distances = 1.0 - scores
        else:
            distances = np.sqrt(np.maximum(scores, 0.0))
        distances[rows < 0] = np.inf
        return distances.astype(np.float32, copy=False), rows

    def _ids_of(self, rows: np.ndarray) -> np.ndarray:
        return np.where(rows >= 0, self.ids[np.maximum(rows, 0)], -1)

    def save(self, directory: str | os.PathLike) -> Path:
        """Write the index under `directory`, replacing the old one as a whole; return the directory."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = self.files(directory)
        replace_files(directory, files)
        self.metadata = json.loads(files[METADATA_FILE])
        return directory

    def files(self, directory: Path) -> dict[str, bytes | Path]:
        """The index's files by name, as `save` writes them into `directory` (the metadata lists the
        others' digests); the thumbnails are a file staged in `directory`, moved into place by the save."""
        split = self.metadata["split"]
        thumbnails = self._stage_thumbnails(Path(directory) / _thumbnails_file(split))
        try:
            index_bytes = faiss.serialize_index(self.index).tobytes()
            buffer = io.BytesIO()
            arrays = {"latents": self.latents, "ids": self.ids}
            arrays.update({f"label:{name}": values for name, values in self.labels.items()})
            np.savez_compressed(buffer, **arrays)
            arrays_bytes = buffer.getvalue()
            metadata = dict(self.metadata, format=FORMAT_VERSION, index=index_params(self.index))
            metadata["files"] = {INDEX_FILE: _sha256(index_bytes), _arrays_file(split): _sha256(arrays_bytes),
                                 _thumbnails_file(split): file_sha256(thumbnails)}
        except BaseException:
            thumbnails.unlink(missing_ok=True)
            raise
        metadata_bytes = json.dumps(metadata, indent=2).encode()
        return {INDEX_FILE: index_bytes, _arrays_file(split): arrays_bytes, _thumbnails_file(split): thumbnails,
                METADATA_FILE: metadata_bytes}

    def _stage_thumbnails(self, target: Path) -> Path:
        """A staging file beside `target` holding the thumbnails: the one built for it, or a new one."""
        staged, self._staged_thumbnails = self._staged_thumbnails, None
        if staged is not None and staged.parent.resolve() == target.parent.resolve():
            return staged
        path = staging_path(target)
        with RowWriter(path, self.thumbnails.shape[1:], len(self.thumbnails)) as rows:
            for start in range(0, len(self.thumbnails), THUMBNAIL_ROWS_PER_WRITE):
                rows.append(self.thumbnails[start : start + THUMBNAIL_ROWS_PER_WRITE])
        if staged is not None:  # built for another folder (a rename cannot cross disks): copied, then dropped
            staged.unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, directory: str | os.PathLike, weights_hash: str | None = None) -> "PackIndex":
        """Read an index saved by `save`, refusing one that is corrupt or built for other weights."""
        directory = Path(directory)
        metadata = _read_metadata(directory)
        pack = metadata.get("pack") or directory.name
        rebuild = f"rebuild with `latent-explorer index --pack {pack}`"
        if weights_hash is not None and metadata.get("weights_hash") != weights_hash:
            raise IndexMismatch(
                f"index built for weights {metadata.get('weights_hash')}, pack has {weights_hash}: {rebuild}"
            )
        split = metadata["split"]
        contents = {}
        for name, digest in metadata["files"].items():
            path = directory / name
            if not path.is_file():
                raise IndexMissing(f"{path} is missing (listed in {METADATA_FILE}): {rebuild}")
            if name == _thumbnails_file(split):  # hashed in chunks and mapped, never read whole
                found = file_sha256(path)
            else:
                contents[name] = path.read_bytes()
                found = _sha256(contents[name])
            if found != digest:
                raise IndexMismatch(
                    f"{path} does not match {METADATA_FILE} (corrupt file or interrupted save): {rebuild}"
                )
        try:
            index = faiss.deserialize_index(np.frombuffer(contents[INDEX_FILE], dtype=np.uint8))
            if metadata["index"]["kind"] == "hnsw":
                faiss.downcast_index(index).hnsw.efSearch = int(metadata["index"]["efSearch"])
            with np.load(io.BytesIO(contents[_arrays_file(split)]), allow_pickle=False) as arrays:
                labels = {key[6:]: arrays[key] for key in arrays.files if key.startswith("label:")}
                if metadata["format"] == 1:
                    thumbnails = arrays["thumbnails"]
                else:
                    thumbnails = open_rows(directory / _thumbnails_file(split))
                return cls(
                    index,
                    arrays["latents"],
                    arrays["ids"],
                    labels,
                    metadata.get("categories", {}),
                    thumbnails,
                    metadata,
                )
        except (RuntimeError, ValueError, KeyError, OSError, zipfile.BadZipFile) as error:
            raise IndexMismatch(f"index at {directory} cannot be read ({error}): {rebuild}") from error


def _arrays_file(split: str) -> str:
    return f"{split}.npz"


def _thumbnails_file(split: str) -> str:
    return f"{split}.thumbnails.npy"


def _read_metadata(directory: Path) -> dict[str, Any]:
    path = directory / METADATA_FILE
    if not path.is_file():
        raise IndexMissing(
            f"no index at {directory} ({METADATA_FILE} missing): "
            f"build it with `latent-explorer index --pack {directory.name}`"
        )
    rebuild = f"rebuild with `latent-explorer index --pack {directory.name}`"
    try:
        metadata = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IndexMismatch(f"{path} is not valid JSON ({error}): {rebuild}") from error
    required = ("format", "split", "metric", "index", "files", "weights_hash")
    if not isinstance(metadata, dict) or any(key not in metadata for key in required):
        raise IndexMismatch(f"{path} lacks some of the keys {required}: {rebuild}")
    if metadata["format"] not in READABLE_FORMATS:
        raise IndexMismatch(f"{path} has format {metadata['format']}, this version reads {READABLE_FORMATS}: {rebuild}")
    return metadata


def _drop(
    distances: np.ndarray, rows: np.ndarray, drop: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The first k hits per query that `drop` does not mark, order kept."""
    keep = np.argsort(drop, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(distances, keep, 1), np.take_along_axis(rows, keep, 1)


def build_pack_index(
    pack: Any,
    dataset: "ImageSource",
    batch_size: int = 256,
    device: "str | torch.device" = "cpu",
    progress: bool = True,
    metric: Metric | None = None,
    stage_in: str | os.PathLike | None = None,
) -> PackIndex:
    """Encode `dataset` (a pack's held-out split, in memory or a folder) with the pack's model on
    `device` and index it.

    `device` is a concrete device (`explorer.devices.resolve_device` turns "auto" into one).
    `metric` defaults to the card's `index.metric`, else DEFAULT_METRIC. With `stage_in` (the
    folder the index will be saved to), the thumbnails stream into a staging file there instead
    of memory, and `save` moves it into place: a folder of any size is indexed in bounded memory.
    """
    metric = metric or pack.card.get("index", {}).get("metric", DEFAULT_METRIC)
    _check_metric(metric)
    desc = f"encoding {pack.name} {dataset.split}"
    if stage_in is None:
        kept: list[np.ndarray] = []
        latents, rows = encode_source(pack.model, dataset, batch_size=batch_size, device=device,
                                      progress=progress, desc=desc, each_batch=kept.append)
        thumbnails = np.concatenate(kept) if kept else np.zeros((0, *dataset.image_shape), np.uint8)
        staged = None
    else:
        staged = staging_path(Path(stage_in) / _thumbnails_file(dataset.split))
        try:
            with RowWriter(staged, dataset.image_shape, len(dataset)) as writer:
                latents, rows = encode_source(pack.model, dataset, batch_size=batch_size, device=device,
                                              progress=progress, desc=desc, each_batch=writer.append)
            thumbnails = open_rows(staged)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
    try:
        return PackIndex.create(
            latents,
            thumbnails,
            metric=metric,
            pack=pack.name,
            split=dataset.split,
            weights_hash=pack.weights_hash,
            ids=rows,
            labels=dataset.labels_of(rows),
            categories=dataset.categories,
            staged_thumbnails=staged,
        )
    except BaseException:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
