"""Side effects of a direction: how much every attribute's judge moves per unit step along it.

A judge is a linear score of a latent, so its change per step is its gradient dotted with the
(unit) direction, the same at every latent:

- an AtDot judge scores with the unit attribute vector â (mean with minus mean without, made
  unit): its drag is â·u, the cosine between the direction and the attribute, in [-1, 1];
- a logistic judge (explorer.latent.logistic, one per label) scores with its logit w·z + b:
  its drag is w·u, the change of logit per unit step.

Locking an attribute (explorer.latent.directions.orthogonalise) makes both its judges' drags
zero; the others fall as far as they are correlated with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from explorer.latent import _validate
from explorer.latent.attributes import attribute_vector
from explorer.latent.logistic import fit_logistic
from explorer.latent.naming import DEFAULT_MIN_COUNT

JudgeKind = Literal["atdot", "logistic"]


@dataclass(frozen=True)
class Judge:
    """A linear judge of one label: its score changes by gradient·step."""

    label: str
    kind: JudgeKind
    gradient: np.ndarray  # (d,)


class SideEffect(NamedTuple):
    """One bar of the side-effect chart."""

    label: str
    kind: JudgeKind
    drag: float  # change of the judge's score per unit step along the direction


def atdot_judges(latents: ArrayLike, masks: Mapping[str, ArrayLike],
                 min_count: int = DEFAULT_MIN_COUNT) -> list[Judge]:
    """An AtDot judge (unit plain attribute vector) per label with `min_count`+ latents on each side."""
    latents = _validate.latents("latents", latents, ndim=2)
    judges = []
    for label, mask in _usable(latents, masks, min_count):
        vector = attribute_vector(latents, mask)
        length = np.linalg.norm(vector)
        if length > 0:
            judges.append(Judge(label, "atdot", vector / length))
    return judges


def logistic_judges(latents: ArrayLike, masks: Mapping[str, ArrayLike], l2: float = 1.0,
                    min_count: int = DEFAULT_MIN_COUNT) -> list[Judge]:
    """A logistic-regression judge (penalty l2/2 |w|²) per label with `min_count`+ latents on each side."""
    latents = _validate.latents("latents", latents, ndim=2)
    return [Judge(label, "logistic", fit_logistic(latents, mask, l2).weights)
            for label, mask in _usable(latents, masks, min_count)]


def side_effects(direction: ArrayLike, judges: Iterable[Judge]) -> list[SideEffect]:
    """Each judge's drag per unit step along `direction` (made unit), in the judges' order."""
    direction = _validate.latents("direction", direction, ndim=1)
    length = np.linalg.norm(direction)
    if length == 0:
        raise ValueError("direction is the zero vector, so a step along it moves nothing")
    unit = direction / length
    effects = []
    for judge in judges:
        _validate.same_dim(("direction", unit), (f"judge {judge.label!r} gradient", judge.gradient))
        effects.append(SideEffect(judge.label, judge.kind, float(judge.gradient @ unit)))
    return effects


def lock_vectors(judges: Iterable[Judge], labels: Iterable[str], kind: JudgeKind | None = None) -> np.ndarray:
    """The gradients (k, d) of the judges of `labels` (of one `kind`, or all): locking them zeroes those drags.

    Locking both kinds of judge of a label is two constraints, which can remove much more of a
    direction than either alone when the two judges of a label point apart.
    """
    judges = [judge for judge in judges if kind is None or judge.kind == kind]
    wanted = list(labels)
    for label in wanted:
        if not any(judge.label == label for judge in judges):
            known = sorted({judge.label for judge in judges})
            of_kind = f"{kind} " if kind else ""
            raise ValueError(f"no {of_kind}judge for {label!r}; {of_kind}judges exist for {known}")
    chosen = [judge.gradient for judge in judges if judge.label in set(wanted)]
    dim = judges[0].gradient.shape[0] if judges else 0
    return np.array(chosen, dtype=np.float64).reshape(len(chosen), dim)


def median_drag(effects: Iterable[SideEffect], kind: JudgeKind, exclude: Iterable[str] = ()) -> float:
    """The median |drag| of judges of `kind`, leaving out the labels in `exclude`."""
    skip = set(exclude)
    drags = [abs(effect.drag) for effect in effects if effect.kind == kind and effect.label not in skip]
    if not drags:
        raise ValueError(f"no {kind} judge is left once {sorted(skip)} are excluded")
    return float(np.median(drags))


def _usable(latents: np.ndarray, masks: Mapping[str, ArrayLike], min_count: int) -> list[tuple[str, np.ndarray]]:
    flags = _validate.labels("masks", masks, len(latents))
    min_count = _validate.count("min_count", min_count)
    return [(label, mask) for label, mask in flags.items()
            if min(int(mask.sum()), len(mask) - int(mask.sum())) >= min_count]
