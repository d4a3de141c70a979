"""Sample-quality metrics on feature vectors (numpy / scipy, exact, memory-bounded).

Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019): each set's manifold is the
union of balls around its points with radius the distance to the k-th nearest neighbour in the
same set. Precision is the fraction of generated points inside the real manifold (quality);
recall is the fraction of real points inside the generated manifold (coverage). Features come
from `explorer.models.features`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.spatial.distance import cdist

# Rows of a distance block computed at once: bounds memory to about this many float64 values.
_BLOCK_VALUES = 1 << 22


class PrecisionRecall(NamedTuple):
    """Improved precision (quality) and recall (coverage), each in [0, 1]."""

    precision: float
    recall: float


def precision_recall(real: np.ndarray, generated: np.ndarray, k: int = 3) -> PrecisionRecall:
    """Improved precision and recall of `generated` against `real` with k-NN radii, exactly."""
    real = _check_features(real, "real")
    generated = _check_features(generated, "generated")
    if real.shape[1] != generated.shape[1]:
        raise ValueError(
            f"real and generated features must have the same width, got {real.shape[1]} and {generated.shape[1]}"
        )
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    for name, features in (("real", real), ("generated", generated)):
        if len(features) <= k:
            raise ValueError(f"{name} has {len(features)} rows; k={k} nearest neighbours need more than k")
    real_radii = _squared_knn_radii(real, k)
    generated_radii = _squared_knn_radii(generated, k)
    precision = _fraction_covered(generated, real, real_radii)
    recall = _fraction_covered(real, generated, generated_radii)
    return PrecisionRecall(precision, recall)


def _squared_knn_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Squared distance from each row to its k-th nearest other row (the row itself is index 0)."""
    radii = np.empty(len(features))
    for start, stop in _blocks(len(features), len(features)):
        distances = cdist(features[start:stop], features, "sqeuclidean")
        radii[start:stop] = np.partition(distances, k, axis=1)[:, k]
    return radii


def _fraction_covered(queries: np.ndarray, centres: np.ndarray, squared_radii: np.ndarray) -> float:
    """Fraction of queries within the radius of at least one centre."""
    covered = 0
    for start, stop in _blocks(len(queries), len(centres)):
        distances = cdist(queries[start:stop], centres, "sqeuclidean")
        covered += int(np.any(distances <= squared_radii[None, :], axis=1).sum())
    return covered / len(queries)


def _blocks(rows: int, columns: int) -> list[tuple[int, int]]:
    step = max(1, _BLOCK_VALUES // columns)
    return [(start, min(start + step, rows)) for start in range(0, rows, step)]


def _check_features(features: np.ndarray, name: str) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[1] == 0:
        raise ValueError(f"{name} must have shape (N, F) with F >= 1, got {features.shape}")
    if not np.isfinite(features).all():
        raise ValueError(f"{name} contains NaN or inf")
    return features
