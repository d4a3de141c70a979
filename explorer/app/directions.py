"""What the Explore and Map views share about directions, computed once per process per pack
(in the pack resources' single-flight cache) and with no panel import: the unsupervised directions
with their automatic names, the AtDot and logistic judges, the 2-D map with its thumbnails and atlas,
and the per-user store of the user's own directions.
"""

from __future__ import annotations

import base64
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.directions_store import DirectionStore
from explorer.imaging import grid_image, jpeg_bytes
from explorer.latent.directions import orthogonalise, principal_directions, sefa_directions
from explorer.latent.naming import name_direction
from explorer.latent.projection import cell_means, grid_cells, pca_2d
from explorer.latent.side_effects import Judge, atdot_judges, lock_vectors, logistic_judges

UNSUPERVISED_COUNT = 8  # principal (and SeFa) directions offered as sliders
HOVER_LIMIT = 10_000  # beyond this many points the map has no hover thumbnails
THUMBNAIL_PX = 48
ATLAS_CELLS = 12


def directions_dir() -> Path:
    """Where the user's own directions are kept: $LATENT_EXPLORER_HOME/directions, else the per-user
    data folder (platformdirs). Never the pack's index folder: a file there makes an absent index look present."""
    home = os.environ.get("LATENT_EXPLORER_HOME")
    if home:
        return Path(home) / "directions"
    import platformdirs

    return Path(platformdirs.user_data_dir("latent-explorer")) / "directions"


def direction_store(resources) -> DirectionStore:
    """The store of the user's own directions for this pack and its weights."""
    return DirectionStore(directions_dir(), resources.name, resources.pack.weights_hash, resources.latent_dim)


@dataclass(frozen=True)
class NamedDirection:
    """A slider-ready direction: its key, its display label and its vector (one held-out sd long)."""

    key: str  # "PC3", "SF1"
    label: str  # "PC3 ≈ gender=woman (AUC 0.81)"
    vector: np.ndarray  # (d,) float32


def _latents(resources) -> np.ndarray:
    return np.asarray(resources.index.latents, dtype=np.float64)


def unsupervised_directions(resources) -> list[NamedDirection]:
    """The pack's top principal directions (and SeFa's, when the decoder starts with a linear map),
    auto-named by AtDot against every label; each scaled to one held-out standard deviation."""
    def compute() -> list[NamedDirection]:
        latents = _latents(resources)
        rows = [("PC", principal_directions(latents, count=min(UNSUPERVISED_COUNT, latents.shape[1])).directions)]
        weight = first_layer_weight(resources)
        if weight is not None:
            rows.append(("SF", sefa_directions(weight, count=min(UNSUPERVISED_COUNT, *weight.shape)).directions))
        named = []
        for prefix, directions in rows:
            for i, unit in enumerate(directions, start=1):
                name = name_direction(latents, unit, resources.masks, title=f"{prefix}{i}")
                spread = float(np.std(latents @ unit)) or 1.0
                named.append(NamedDirection(f"{prefix}{i}", name.display, (unit * spread).astype(np.float32)))
        return named

    return resources.once(("unsupervised-directions",), compute)


def first_layer_weight(resources) -> np.ndarray | None:
    """The weight of the decoder's first linear map from the latent (for SeFa), or None."""
    from explorer.models.directions import first_linear_layer

    return resources.once(("first-layer",), lambda: first_linear_layer(resources.model).weight)


def judges(resources) -> list[Judge]:
    """An AtDot and a logistic judge for every label with enough latents on each side, fitted once."""
    def compute() -> list[Judge]:
        latents = _latents(resources)
        return atdot_judges(latents, resources.masks) + logistic_judges(latents, resources.masks)

    return resources.once(("judges",), compute)


def judged_labels(resources) -> list[str]:
    """The labels that have judges (what can be locked)."""
    return sorted({judge.label for judge in judges(resources)})


def locked(vector: np.ndarray, resources, locks: tuple[str, ...]) -> np.ndarray:
    """`vector` with both judges of each locked label made blind to it, at its own length.

    ValueError when nothing of the vector is left (it lies in the span of the locks).
    """
    if not locks:
        return vector
    unit = orthogonalise(vector, lock_vectors(judges(resources), locks))
    return unit * np.linalg.norm(vector)  # float64: a locked judge's drag stays at round-off, ~1e-16


def map_methods() -> list[str]:
    """The 2-D projections on offer: PCA, and UMAP when umap-learn is installed."""
    # find_spec, not import: importing umap compiles numba code for many seconds
    return ["PCA", "UMAP"] if importlib.util.find_spec("umap") is not None else ["PCA"]  # pip install ...[umap]


def map_coords(resources, method: str = "PCA") -> np.ndarray:
    """The held-out latents in 2-D (N, 2) by PCA or UMAP, once per process."""
    if method not in map_methods():
        raise ValueError(f"no map projection {method!r}; choose from {', '.join(map_methods())}")

    def compute() -> np.ndarray:
        latents = _latents(resources)
        if method == "PCA":
            return pca_2d(latents)
        import warnings

        import umap

        neighbours = max(2, min(15, len(latents) - 1))
        with warnings.catch_warnings():  # "n_jobs overridden by setting random_state": wanted, for a stable map
            warnings.simplefilter("ignore", UserWarning)
            return np.asarray(umap.UMAP(n_neighbors=neighbours, random_state=0).fit_transform(latents), np.float64)

    return resources.once(("map", method), compute)


def map_thumbnails(resources) -> list[str]:
    """A small JPEG data URL per held-out image, for the map's hover (empty beyond HOVER_LIMIT points)."""
    def compute() -> list[str]:
        thumbnails = np.asarray(resources.index.thumbnails)
        if len(thumbnails) > HOVER_LIMIT:
            return []
        return ["data:image/jpeg;base64," + base64.b64encode(
            jpeg_bytes(grid_image(image[None, None], THUMBNAIL_PX, 0))).decode("ascii") for image in thumbnails]

    return resources.once(("map-thumbnails",), compute)


def atlas(resources, method: str = "PCA", cells: int = ATLAS_CELLS) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The map's grid cells tiled with the decoded mean latent of their points: an RGBA image
    (transparent where a cell is empty) and its bounds (left, bottom, right, top) on the map."""
    def compute():
        grid = grid_cells(map_coords(resources, method), cells)
        means, filled = cell_means(_latents(resources), grid)
        h, w, c = resources.image_shape
        tiles = np.zeros((cells * cells, h, w, 4), np.uint8)
        decoded = resources.decode(means[filled].astype(np.float32))
        tiles[filled, :, :, :3] = decoded if c == 3 else np.repeat(decoded, 3, axis=-1)
        tiles[filled, :, :, 3] = 255
        image = tiles.reshape(cells, cells, h, w, 4).transpose(0, 2, 1, 3, 4).reshape(cells * h, cells * w, 4)
        return image, grid.bounds

    return resources.once(("atlas", method, cells), compute)
