"""Name a direction by the label it separates best: AtDot (score = latents @ direction) judged by
the AUC against every label mask.

A direction's sign is arbitrary, so each label is read at both ends: an AUC below 0.5 means the
label sits at the negative end, and counts as 1 - AUC with sign -1 ("PC3 ≈ −gender=woman").
A direction whose best label does not reach `threshold` is "unnamed".

Labels with fewer than `min_count` latents on either side are not used: with 3 positives an
AUC of 0.9 happens by chance for one direction in ten. Even so, the best of many labels is
optimistic; compare the AUC with the label's chance spread, `null_sd`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from explorer.latent import _validate
from explorer.latent.classify import atdot, roc

DEFAULT_THRESHOLD = 0.7
DEFAULT_MIN_COUNT = 10
MINUS = "\u2212"  # the minus sign, so "−gender=woman" does not read as a hyphenated label


@dataclass(frozen=True)
class LabelScore:
    """How well one label is separated by a direction, read at the end that carries it."""

    label: str
    auc: float  # in [0.5, 1]: the AUC at the end (sign) that carries the label
    sign: int  # +1: the label grows along the direction; -1: along its negative
    positives: int  # latents with the label
    null_sd: float  # standard deviation of the AUC of a direction unrelated to the label

    @property
    def signed_label(self) -> str:
        """The label as a direction reads it: "gender=woman" or "−gender=woman"."""
        return self.label if self.sign > 0 else MINUS + self.label


@dataclass(frozen=True)
class DirectionName:
    """A direction's automatic name: its best label (when it reaches the threshold) and runner-ups."""

    title: str  # what the direction is called before its name, e.g. "PC3"
    name: str  # the signed label, or "unnamed"
    best: LabelScore | None  # the best-separated label, even when below the threshold (None: no usable label)
    runners_up: tuple[LabelScore, ...]  # the next best labels, best first
    threshold: float

    @property
    def named(self) -> bool:
        """Whether the best label reaches the threshold."""
        return self.best is not None and self.best.auc >= self.threshold

    @property
    def display(self) -> str:
        """E.g. "PC3 ≈ gender=woman (AUC 0.81)", or "PC3: unnamed (best gender=woman, AUC 0.62)"."""
        if self.named:
            return f"{self.title} \u2248 {self.name} (AUC {self.best.auc:.2f})"
        if self.best is None:
            return f"{self.title}: unnamed (no label has enough latents on each side to judge)"
        return f"{self.title}: unnamed (best {self.best.signed_label}, AUC {self.best.auc:.2f} < {self.threshold:g})"


def label_scores(latents: ArrayLike, direction: ArrayLike, masks: Mapping[str, ArrayLike],
                 min_count: int = DEFAULT_MIN_COUNT) -> list[LabelScore]:
    """Every usable label's AUC along `direction` (at its better end), best first."""
    latents = _validate.latents("latents", latents, ndim=2)
    flags = _validate.labels("masks", masks, len(latents))
    min_count = _validate.count("min_count", min_count)
    scores = atdot(latents, direction)
    results = []
    for label, mask in flags.items():
        positives = int(mask.sum())
        negatives = len(mask) - positives
        if min(positives, negatives) < min_count:
            continue
        auc = roc(scores, mask).auc
        sign = 1 if auc >= 0.5 else -1
        # the Mann-Whitney AUC of unrelated scores has variance (n1 + n2 + 1) / (12 n1 n2)
        null_sd = float(np.sqrt((positives + negatives + 1) / (12.0 * positives * negatives)))
        results.append(LabelScore(label, max(auc, 1.0 - auc), sign, positives, null_sd))
    return sorted(results, key=lambda score: (-score.auc, score.label))


def name_direction(latents: ArrayLike, direction: ArrayLike, masks: Mapping[str, ArrayLike], title: str = "",
                   threshold: float = DEFAULT_THRESHOLD, min_count: int = DEFAULT_MIN_COUNT,
                   runners_up: int = 3) -> DirectionName:
    """Name `direction` after the label its AtDot scores on `latents` separate best (AUC >= threshold)."""
    threshold = _validate.scalar("threshold", threshold)
    if not 0.5 <= threshold <= 1.0:
        raise ValueError(f"threshold must be an AUC between 0.5 and 1, got {threshold}")
    runners_up = _validate.count("runners_up", runners_up, minimum=0)
    ranked = label_scores(latents, direction, masks, min_count)
    best = ranked[0] if ranked else None
    name = best.signed_label if best is not None and best.auc >= threshold else "unnamed"
    return DirectionName(title=title, name=name, best=best, runners_up=tuple(ranked[1 : 1 + runners_up]),
                         threshold=threshold)


def name_directions(latents: ArrayLike, directions: ArrayLike, masks: Mapping[str, ArrayLike], prefix: str = "PC",
                    threshold: float = DEFAULT_THRESHOLD, min_count: int = DEFAULT_MIN_COUNT,
                    runners_up: int = 3) -> list[DirectionName]:
    """`name_direction` for each row of `directions` (k, d), titled prefix1, prefix2, ..."""
    directions = _validate.latents("directions", directions, ndim=2)
    return [name_direction(latents, row, masks, f"{prefix}{i}", threshold, min_count, runners_up)
            for i, row in enumerate(directions, start=1)]
