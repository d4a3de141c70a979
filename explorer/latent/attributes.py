"""Attribute vectors (White 2016): the direction in latent space along which an attribute grows.

- plain: mean of the latents with the attribute minus the mean of those without;
- balanced: the same after replicating samples so that the other attributes named in `balance`
  are equally common with and without the target, so correlated attributes (in CelebA, "smiling"
  with "female") do not leak into the vector;
- synthetic: the mean shift that a known image edit (e.g. blurring) causes in the encodings.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from explorer.latent import _validate


@dataclass(frozen=True)
class BalancedAttribute:
    """A balanced attribute vector and the sample counts it was built from."""

    vector: np.ndarray  # (d,)
    attributes: tuple[str, ...]  # (target, *balance): the order of the flags in each cell key
    cell_counts: dict[tuple[bool, ...], tuple[int, int]]  # cell -> (original count, count after replication)


def attribute_vector(latents: ArrayLike, mask: ArrayLike) -> np.ndarray:
    """Mean of latents (n, d) where `mask` is True minus the mean where it is False."""
    latents = _validate.latents("latents", latents, ndim=2)
    mask = _validate.mask("mask", mask, len(latents))
    positives = int(mask.sum())
    if positives in (0, len(mask)):
        raise ValueError(
            f"mask must mark some latents True and some False, got {positives} True of {len(mask)}; "
            "an attribute vector needs both groups"
        )
    return _validate.finite_result("attribute_vector", latents[mask].mean(axis=0) - latents[~mask].mean(axis=0))


def balanced_attribute_vector(
    latents: ArrayLike, labels: Mapping[str, ArrayLike], target: str, balance: Sequence[str]
) -> BalancedAttribute:
    """Attribute vector for `target` with every combination of target and `balance` equally common.

    Each cell (one combination of True/False for the target and the balance attributes) is
    replicated up to the size of the largest cell, every sample counting size / len(cell) times
    (fractional copies, so no sample of a cell counts more than another), and the vector is the
    mean difference over that replicated set: the average over balance cells of the difference
    between target and non-target cell means. With no balance attributes it is the plain vector.
    """
    latents = _validate.latents("latents", latents, ndim=2)
    flags = _validate.labels("labels", labels, len(latents))
    if isinstance(balance, str):
        raise ValueError(
            f"balance must be a sequence of attribute names, got the string {balance!r}; use ({balance!r},)"
        )
    names = (target, *balance)
    for name in names:
        if name not in flags:
            raise ValueError(f"attribute {name!r} is not in labels, which has {sorted(flags)}")
    if len(set(names)) != len(names):
        raise ValueError(
            f"target and balance must name distinct attributes, got target={target!r}, balance={list(balance)}"
        )

    table = np.stack([flags[name] for name in names], axis=1)
    keys = itertools.product((True, False), repeat=len(names))
    cells = {key: np.flatnonzero((table == key).all(axis=1)) for key in keys}
    for key, members in cells.items():
        if len(members) == 0:
            combination = ", ".join(f"{name}={value}" for name, value in zip(names, key))
            raise ValueError(
                f"no latent has {combination}; balancing needs at least one sample in every combination "
                f"of target and balance attributes (drop an attribute from balance)"
            )
    weights = np.zeros(len(latents))
    for members in cells.values():
        weights[members] = 1.0 / len(members)  # each cell weighs the same, as after replication
    on = flags[target]
    mean_on = np.average(latents[on], axis=0, weights=weights[on])
    vector = _validate.finite_result("balanced_attribute_vector",
                                     mean_on - np.average(latents[~on], axis=0, weights=weights[~on]))
    size = max(len(members) for members in cells.values())
    counts = {key: (len(members), size) for key, members in cells.items()}
    return BalancedAttribute(vector=vector, attributes=names, cell_counts=counts)


def synthetic_attribute_vector(latents: ArrayLike, augmented_latents: ArrayLike) -> np.ndarray:
    """Mean of `augmented_latents` minus mean of `latents`: encodings of edited and original images, paired."""
    latents = _validate.nonempty("latents", _validate.latents("latents", latents, ndim=2))
    augmented = _validate.latents("augmented_latents", augmented_latents, ndim=2)
    if augmented.shape != latents.shape:
        raise ValueError(
            f"augmented_latents must have the shape of latents {latents.shape}, one edit per original, "
            f"got {augmented.shape}"
        )
    return _validate.finite_result("synthetic_attribute_vector", augmented.mean(axis=0) - latents.mean(axis=0))
