"""Sample-quality metrics on feature vectors (numpy / scipy, exact, memory-bounded).

Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019): each set's manifold is the
union of balls around its points with radius the distance to the k-th nearest neighbour in the
same set. Precision is the fraction of generated points inside the real manifold (quality);
recall is the fraction of real points inside the generated manifold (coverage). Features come
from `explorer.models.features`.

Class balance: `class_histogram` and its Shannon entropy in bits (`entropy_bits`), or divided
by its maximum log2(classes) (`normalised_entropy`: 1 is perfectly flat).
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


def class_histogram(labels: np.ndarray, n_classes: int, weights: np.ndarray | None = None) -> np.ndarray:
    """How many labels (int64), or how much weight (float64), falls in each class 0..n_classes-1."""
    labels = np.asarray(labels)
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive int, got {n_classes!r}")
    if labels.ndim != 1 or not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool):
        raise ValueError(f"labels must be a 1-D array of integer classes, got {labels.dtype} {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got values from {labels.min()} to {labels.max()}")
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != labels.shape or not np.isfinite(weights).all() or (weights < 0).any():
            raise ValueError(f"weights must be {labels.shape} finite non-negative numbers, got shape {weights.shape}")
    return np.bincount(labels.astype(np.int64), weights=weights, minlength=n_classes)


def entropy_bits(histogram: np.ndarray) -> float:
    """Shannon entropy in bits of a histogram of counts or shares; empty classes add nothing."""
    shares = _shares(histogram)
    shares = shares[shares > 0]
    return float(-np.sum(shares * np.log2(shares)) + 0.0)


def normalised_entropy(histogram: np.ndarray) -> float:
    """Entropy over its maximum log2(classes): 1 for a flat histogram, 0 when one class has everything."""
    classes = len(_shares(histogram))
    if classes < 2:
        raise ValueError(f"normalised entropy needs at least 2 classes, got {classes}")
    return entropy_bits(histogram) / float(np.log2(classes))


def _shares(histogram: np.ndarray) -> np.ndarray:
    histogram = np.asarray(histogram, dtype=np.float64)
    if histogram.ndim != 1 or len(histogram) == 0:
        raise ValueError(f"histogram must have shape (classes,) with at least one class, got {histogram.shape}")
    if not np.isfinite(histogram).all() or (histogram < 0).any() or histogram.sum() <= 0:
        raise ValueError("histogram must be finite, non-negative and not all zero")
    return histogram / histogram.sum()
