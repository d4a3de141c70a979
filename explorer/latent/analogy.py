"""Analogies (A is to B as C is to B + C - A) and the J-diagram grid that shows one (White 2016)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from explorer.latent import _validate
from explorer.latent.interpolate import slerp


def gaussian_shell_radius(d: int) -> float:
    """sqrt(d): the root-mean-square norm of a d-dimensional standard Gaussian, where its mass lies."""
    return math.sqrt(_validate.count("d", d))


def analogy(a: ArrayLike, b: ArrayLike, c: ArrayLike, *, rescale_to: float | None = None) -> np.ndarray:
    """B + C - A for latents (..., d); with `rescale_to`, scaled to that norm (e.g. the Gaussian shell).

    Sums of prior samples drift off the shell (B + C - A has norm about sqrt(3 d)), so for a
    Gaussian prior pass `rescale_to=gaussian_shell_radius(d)` to bring the result back onto it.
    """
    a, b, c = (_validate.latents(name, value) for name, value in (("a", a), ("b", b), ("c", c)))
    _validate.broadcast_shape(("a", a), ("b", b), ("c", c))
    result = _validate.finite_result("analogy", b + c - a)
    if rescale_to is None:
        return result
    radius = _validate.scalar("rescale_to", rescale_to, positive=True)
    norms = np.linalg.norm(result, axis=-1, keepdims=True)
    if (norms == 0).any():
        raise ValueError("b + c - a is the zero vector, which has no direction to rescale; pass rescale_to=None")
    return _validate.finite_result("analogy", result * (radius / norms))


def j_diagram(
    a: ArrayLike, b: ArrayLike, c: ArrayLike, rows: int, cols: int, *, rescale_to: float | None = None
) -> np.ndarray:
    """A (rows, cols, d) grid: A top-left, B bottom-left, C top-right, B + C - A bottom-right.

    The left and right edges are slerped from the top corners to the bottom ones, then each row
    is slerped from its left cell to its right cell. `rescale_to` is passed to `analogy`.
    """
    a, b, c = (_validate.latents(name, value, ndim=1) for name, value in (("a", a), ("b", b), ("c", c)))
    rows = _validate.count("rows", rows, minimum=2)
    cols = _validate.count("cols", cols, minimum=2)
    d = analogy(a, b, c, rescale_to=rescale_to)
    down = np.linspace(0.0, 1.0, rows)
    left, right = slerp(a, b, down), slerp(c, d, down)
    return np.swapaxes(slerp(left, right, np.linspace(0.0, 1.0, cols)), 0, 1)
