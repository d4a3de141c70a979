"""Vector arithmetic on averaged exemplars (Radford et al. 2016, DCGAN): one sample is noisy, the
mean of a few exemplars of a concept is a steadier handle on it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from explorer.latent import _validate


def average_exemplars(exemplars: ArrayLike) -> np.ndarray:
    """The mean (d,) of a concept's exemplar latents (n, d)."""
    return _mean("exemplars", exemplars)


def combine_concepts(concepts: Sequence[ArrayLike], coefficients: Sequence[float]) -> np.ndarray:
    """Sum of coefficient * mean exemplar over concepts: X - Y + Z is coefficients (1, -1, 1)."""
    if len(concepts) == 0 or len(concepts) != len(coefficients):
        raise ValueError(
            f"concepts and coefficients must pair up one to one and not be empty, got {len(concepts)} "
            f"concepts and {len(coefficients)} coefficients"
        )
    means = [_mean(f"concepts[{i}]", exemplars) for i, exemplars in enumerate(concepts)]
    _validate.same_dim(*((f"concepts[{i}]", mean) for i, mean in enumerate(means)))
    weights = [_validate.scalar(f"coefficients[{i}]", c) for i, c in enumerate(coefficients)]
    return np.sum([w * mean for w, mean in zip(weights, means)], axis=0)


def jitter_grid(latent: ArrayLike, rows: int, cols: int, *, spread: float = 0.25, seed: int = 0) -> np.ndarray:
    """(rows, cols, d) copies of `latent` plus uniform noise in [-spread, spread], the middle cell exact.

    DCGAN showed an arithmetic result this way (spread 0.25) to show that the concept, not one
    point, carries the meaning. The same seed gives the same grid.
    """
    latent = _validate.latents("latent", latent, ndim=1)
    rows = _validate.count("rows", rows)
    cols = _validate.count("cols", cols)
    spread = _validate.scalar("spread", spread)
    if spread < 0:
        raise ValueError(f"spread must be >= 0, got {spread!r}")
    noise = np.random.default_rng(_validate.count("seed", seed, minimum=0)).uniform(
        -spread, spread, size=(rows, cols, latent.shape[0])
    )
    noise[rows // 2, cols // 2] = 0.0
    return latent + noise


def _mean(name: str, exemplars: ArrayLike) -> np.ndarray:
    return _validate.nonempty(name, _validate.latents(name, exemplars, ndim=2)).mean(axis=0)
