"""Directions in latent space found without labels, made from two groups, and kept clear of others.

- `principal_directions`: PCA of a latent set (GANSpace, Härkönen et al. 2020): the mean, the
  unit directions of largest variance and the share of the variance each explains;
- `sefa_directions`: SeFa's closed-form factorisation (Shen & Zhou 2021): the unit eigenvectors
  of AᵀA for the decoder's first linear layer weight A (out_features × latent_dim), largest
  eigenvalue first: the latent directions that layer magnifies most;
- `custom_direction`: the unit direction from the mean of group A to the mean of group B;
- `orthogonalise`: a direction projected orthogonal to the span of some "locked" directions.

Every direction returned is a unit vector, so a slider strength is the same latent distance
for every direction, and side effects per unit step compare across them. A direction's sign is
arbitrary for PCA and SeFa; `explorer.latent.naming` reads which end carries a label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from explorer.latent import _validate

# A lock (or the direction) whose part outside the span so far is below this fraction of its
# length adds nothing to the span: float64 round-off is ~1e-16, so 1e-10 leaves a wide margin.
DEPENDENCE_TOLERANCE = 1e-10


@dataclass(frozen=True)
class PrincipalDirections:
    """Principal directions of a latent set, largest variance first."""

    mean: np.ndarray  # (d,)
    directions: np.ndarray  # (k, d), unit rows, mutually orthogonal
    variance: np.ndarray  # (k,), variance of the latents along each direction
    explained_variance_ratio: np.ndarray  # (k,), variance / total variance of the latents


@dataclass(frozen=True)
class SefaDirections:
    """SeFa directions of a linear layer, largest eigenvalue of AᵀA first."""

    directions: np.ndarray  # (k, d), unit rows: the top right-singular vectors of A
    eigenvalues: np.ndarray  # (k,), eigenvalues of AᵀA (squared singular values of A)


@dataclass(frozen=True)
class CustomDirection:
    """The unit direction from group A's mean to group B's, and the distance between the means."""

    vector: np.ndarray  # (d,), unit
    distance: float  # |mean(B) - mean(A)|: a slider strength of `distance` goes from A's mean to B's


def principal_directions(latents: ArrayLike, count: int | None = None) -> PrincipalDirections:
    """The top `count` (default: all) principal directions of latents (n, d), with their variance.

    Signs are made deterministic: each direction's largest-magnitude component is positive.
    """
    latents = _validate.latents("latents", latents, ndim=2)
    n, d = latents.shape
    if n < 2:
        raise ValueError(f"latents must hold at least 2 latents for a variance, got shape {latents.shape}")
    count = _count_at_most("count", count, min(n - 1, d), f"min(n - 1, d) = {min(n - 1, d)} for latents {latents.shape}")
    mean = latents.mean(axis=0)
    _, singular, rows = np.linalg.svd(latents - mean, full_matrices=False)
    variance = singular**2 / (n - 1)
    total = variance.sum()
    if total == 0:
        raise ValueError(f"latents are all identical (shape {latents.shape}), so they have no principal directions")
    directions = _fix_signs(rows[:count])
    return PrincipalDirections(mean=mean, directions=directions, variance=variance[:count],
                               explained_variance_ratio=variance[:count] / total)


def sefa_directions(weight: ArrayLike, count: int | None = None) -> SefaDirections:
    """The top `count` (default: all) eigenvectors of AᵀA for a layer weight A (out_features, latent_dim).

    Computed as A's right-singular vectors (an SVD of A, not an eigensolve of AᵀA, whose
    condition number is the square of A's). Signs as in `principal_directions`.
    """
    weight = _validate.latents("weight", weight, ndim=2)
    out_features, d = weight.shape
    rank_bound = min(out_features, d)
    count = _count_at_most("count", count, rank_bound, f"min(out_features, latent_dim) = {rank_bound}")
    _, singular, rows = np.linalg.svd(weight, full_matrices=False)
    if singular[0] == 0:
        raise ValueError(f"weight is all zeros (shape {weight.shape}), so it magnifies no direction")
    return SefaDirections(directions=_fix_signs(rows[:count]), eigenvalues=singular[:count] ** 2)


def custom_direction(latents_a: ArrayLike, latents_b: ArrayLike) -> CustomDirection:
    """Unit vector along mean(latents_b) - mean(latents_a), and the distance between those means."""
    group_a = _validate.nonempty("latents_a", _validate.latents("latents_a", latents_a, ndim=2))
    group_b = _validate.nonempty("latents_b", _validate.latents("latents_b", latents_b, ndim=2))
    _validate.same_dim(("latents_a", group_a), ("latents_b", group_b))
    difference = _validate.finite_result("custom_direction", group_b.mean(axis=0) - group_a.mean(axis=0))
    distance = float(np.linalg.norm(difference))
    if distance == 0:
        raise ValueError(
            f"groups A ({len(group_a)} latents) and B ({len(group_b)} latents) have the same mean, so there is "
            "no direction from one to the other; pick groups that differ"
        )
    return CustomDirection(vector=difference / distance, distance=distance)


def orthogonalise(direction: ArrayLike, locks: ArrayLike) -> np.ndarray:
    """`direction` (d,) with its part in the span of `locks` (k, d) removed, as a unit vector.

    Modified Gram–Schmidt, each projection done twice ("twice is enough": the second pass
    removes what round-off left after the first). Locks may be linearly dependent (or zero):
    one that adds nothing to the span of those before it is skipped. A direction that lies in
    the locks' span has nothing left, and raises ValueError.
    """
    direction = _validate.latents("direction", direction, ndim=1)
    locks = _validate.latents("locks", locks, ndim=2)
    _validate.same_dim(("direction", direction), ("locks", locks))
    basis = _orthonormal_basis(locks)
    length = np.linalg.norm(direction)
    if length == 0:
        raise ValueError("direction is the zero vector; it has no direction to keep")
    residual = _project_out(direction / length, basis)
    kept = np.linalg.norm(residual)
    if kept <= DEPENDENCE_TOLERANCE:
        raise ValueError(
            f"direction lies in the span of the {len(locks)} locks (rank {len(basis)}): nothing of it is left "
            f"once they are locked (remaining length {kept:.1e} of 1); unlock one of them"
        )
    return residual / kept


def _orthonormal_basis(vectors: np.ndarray) -> np.ndarray:
    """Orthonormal rows spanning `vectors`, skipping those (nearly) in the span of earlier ones."""
    basis: list[np.ndarray] = []
    for vector in vectors:
        length = np.linalg.norm(vector)
        if length == 0:
            continue
        residual = _project_out(vector / length, np.array(basis).reshape(-1, len(vector)))
        remaining = np.linalg.norm(residual)
        if remaining > DEPENDENCE_TOLERANCE:
            basis.append(residual / remaining)
    return np.array(basis).reshape(-1, vectors.shape[1])


def _project_out(vector: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """`vector` minus its projection on orthonormal `basis` rows, one row at a time, two passes."""
    residual = vector.copy()
    for _ in range(2):
        for row in basis:
            residual -= (row @ residual) * row
    return residual


def _fix_signs(rows: np.ndarray) -> np.ndarray:
    """Rows flipped so that each one's largest-magnitude component is positive."""
    largest = rows[np.arange(len(rows)), np.argmax(np.abs(rows), axis=1)]
    return rows * np.where(largest < 0, -1.0, 1.0)[:, None]


def _count_at_most(name: str, value: int | None, limit: int, why: str) -> int:
    if value is None:
        return limit
    value = _validate.count(name, value)
    if value > limit:
        raise ValueError(f"{name} must be at most {why}, got {value}")
    return value
