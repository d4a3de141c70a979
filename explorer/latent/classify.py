"""AtDot classification (White 2016): score a latent by its dot product with an attribute vector,
then judge the scores with an exact ROC curve and the accuracy-maximising threshold.

A latent is predicted positive when its score is >= the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from explorer.latent import _validate


@dataclass(frozen=True)
class RocCurve:
    """ROC points, one per distinct score plus the all-negative start, and the area under them."""

    false_positive_rate: np.ndarray  # (m + 1,), from 0 to 1
    true_positive_rate: np.ndarray  # (m + 1,), from 0 to 1
    thresholds: np.ndarray  # (m + 1,): +inf, then the m distinct scores, decreasing
    auc: float  # P(score of a positive > score of a negative) + P(tie) / 2


class Threshold(NamedTuple):
    """A decision threshold (predict positive when score >= threshold) and its accuracy."""

    threshold: float
    accuracy: float


def atdot(latents: ArrayLike, vector: ArrayLike) -> np.ndarray:
    """Scores (...,): each latent (..., d) dotted with the attribute `vector` (d,)."""
    latents = _validate.latents("latents", latents)
    vector = _validate.latents("vector", vector, ndim=1)
    _validate.same_dim(("vector", vector), ("latents", latents))
    return _validate.finite_result("atdot", latents @ vector)


def roc(scores: ArrayLike, labels: ArrayLike) -> RocCurve:
    """Exact ROC curve and AUC from one sort; tied scores form a single (diagonal) step."""
    thresholds, true_positives, false_positives = _counts(scores, labels)
    positives, negatives = true_positives[-1], false_positives[-1]
    # trapezoids in integer counts: exact, with ties scoring one half as in Mann-Whitney U
    area = np.sum(np.diff(false_positives) * (true_positives[1:] + true_positives[:-1]))
    return RocCurve(
        false_positive_rate=false_positives / negatives,
        true_positive_rate=true_positives / positives,
        thresholds=thresholds,
        auc=float(area) / (2.0 * float(positives) * float(negatives)),
    )


def best_threshold(scores: ArrayLike, labels: ArrayLike) -> Threshold:
    """The threshold (a score, or +inf for all-negative) with the highest accuracy, and that accuracy."""
    thresholds, true_positives, false_positives = _counts(scores, labels)
    correct = true_positives + (false_positives[-1] - false_positives)
    best = int(np.argmax(correct))
    return Threshold(float(thresholds[best]), float(correct[best]) / float(true_positives[-1] + false_positives[-1]))


def _counts(scores: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thresholds (+inf, then distinct scores, decreasing) and the true/false positives at each."""
    scores = _validate.numbers("scores", scores)
    if scores.ndim != 1:
        raise ValueError(f"scores must have shape (n,), got shape {scores.shape}")
    labels = _validate.mask("labels", labels, len(scores))
    positives = int(labels.sum())
    if positives in (0, len(labels)):
        raise ValueError(f"labels must contain both classes, got {positives} positives of {len(labels)}")
    order = np.argsort(-scores)
    ranked, hits = scores[order], labels[order]
    group_ends = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]), len(ranked) - 1]
    true_positives = np.r_[0, np.cumsum(hits)[group_ends]]
    false_positives = np.r_[0, group_ends + 1 - true_positives[1:]]
    return np.r_[np.inf, ranked[group_ends]], true_positives, false_positives
