"""Interpolation between latents: lerp, slerp (White 2016) and the spherical weighted average.

Shapes: `a` and `b` are latents of shape (..., d) whose leading axes broadcast together. A scalar
`t` gives a result of that broadcast shape; a 1-D array of T steps gives shape (T, ..., d), step
first. Steps outside [0, 1] extrapolate. Results are float64.

Why slerp: the mass of a high-dimensional Gaussian lies on a thin shell of radius about sqrt(d),
and lerp cuts through the inside of that shell (the midpoint of two 100-D samples has norm about
7.1 instead of 10: the "tent-pole"), where the decoder was never trained. Slerp moves along the
great circle between the directions while the radius moves linearly between the two norms, so
every point of the path lies on the shell.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from explorer.latent import _validate

# Below this sine of the angle, directions pointing apart are treated as exactly antiparallel:
# their great circle is undefined (any plane holds both), so a fixed one is used instead. Just
# above it, rounding moves the plane by up to eps / sine; just below, the fixed plane misses b's
# by up to sine. sqrt(eps) bounds both errors by about 1.5e-8.
_ANTIPARALLEL_SINE = float(np.sqrt(np.finfo(np.float64).eps))


def lerp(a: ArrayLike, b: ArrayLike, t: ArrayLike) -> np.ndarray:
    """Straight-line interpolation (1 - t) a + t b; exact at t = 0 and t = 1.

    `a`, `b`: (..., d), broadcasting; scalar `t` gives (..., d), `t` of shape (T,) gives (T, ..., d).
    """
    a, b, t = _arguments(a, b, t)
    return _validate.finite_result("lerp", (1 - t) * a + t * b)


def slerp(a: ArrayLike, b: ArrayLike, t: ArrayLike) -> np.ndarray:
    """Spherical interpolation: great circle between the directions, norm linear between the norms.

    Shapes as for `lerp`: scalar `t` gives (..., d), `t` of shape (T,) gives (T, ..., d).

    The direction follows Shoemake's great circle, evaluated as cos(t W) u + sin(t W) w with u the
    direction of `a`, w the unit vector orthogonal to u in the plane of `a` and `b`, and W the
    angle between them, found with atan2 (accurate near 0 and pi, unlike the clipped arccos).
    The result is the same as sin((1-t)W)/sin(W) u_a + sin(tW)/sin(W) u_b, but it stays on the
    sphere and ends on `b` even when sin(W) is tiny. Edge cases, all finite:
    - parallel directions (W = 0): the path is the lerp, whatever the two norms;
    - a zero endpoint: it takes the other endpoint's direction, so the path is again the lerp;
    - antiparallel directions (W = pi, or sin(W) < 1.5e-8): any plane holds both, so the path
      turns through a fixed w = e_k - m_k m normalised, where m is the unit vector along
      u_a - u_b (u_a itself when exactly antiparallel) and e_k the axis along which m is smallest
      in magnitude (the first such axis); swapping the ends flips m but not w, so
      slerp(a, b, t) == slerp(b, a, 1 - t) holds there too;
    - d = 1: a line has no arcs, so slerp is the lerp;
    - t outside [0, 1] continues along the circle, with the norm extrapolated linearly (a norm
      that goes negative reflects through the origin, as lerp does for parallel endpoints).
    Exact at t = 0 and t = 1.
    """
    a, b, t = _arguments(a, b, t)
    if a.shape[-1] == 1:
        return _validate.finite_result("slerp", (1 - t) * a + t * b)
    norm_a, u = _polar(a)
    norm_b, v = _polar(b)
    u = np.where(norm_a > 0, u, v)  # a zero endpoint borrows the other's direction
    v = np.where(norm_b > 0, v, u)
    cosine = np.clip(np.sum(u * v, axis=-1, keepdims=True), -1.0, 1.0)
    towards_v = v - cosine * u
    # a second Gram-Schmidt pass: when v is near +-u the first leaves rounding noise along u
    towards_v -= np.sum(towards_v * u, axis=-1, keepdims=True) * u
    sine = _norm(towards_v)
    angle = np.arctan2(sine, cosine)
    antiparallel = (cosine < 0) & (sine < _ANTIPARALLEL_SINE)
    w = np.where(antiparallel, _orthogonal(_polar(u - v)[1]), towards_v / np.where(sine > 0, sine, 1.0))
    angle = np.where(antiparallel, np.pi, angle)
    direction = np.cos(t * angle) * u + np.sin(t * angle) * w
    path = ((1 - t) * norm_a + t * norm_b) * direction
    return _validate.finite_result("slerp", np.where(t == 0, a, np.where(t == 1, b, path)))


def spherical_average(latents: ArrayLike, weights: ArrayLike) -> np.ndarray:
    """Weighted average on the sphere (Buss & Fillmore 2001) with the norm averaged linearly.

    `latents` (m, d), `weights` (..., m), non-negative with a positive sum per row (they are
    normalised); the result has shape (..., d). With two latents and weights (1 - t, t) it is
    slerp(a, b, t) for t in [0, 1]: this is slerp's natural extension to many points. The
    direction is the Karcher mean (fixed-point iteration in the tangent plane, started at the
    normalised linear average). As in slerp, a zero latent adds to the norm but not the
    direction; a latent antipodal to the current estimate has no tangent direction there and is
    left out of that step.
    """
    points = _validate.nonempty("latents", _validate.latents("latents", latents, ndim=2))
    w = _validate.numbers("weights", weights)
    if w.shape[-1:] != points.shape[:1]:
        raise ValueError(f"weights must have shape (..., {points.shape[0]}), one per latent, got shape {w.shape}")
    total = w.sum(axis=-1, keepdims=True)
    if (w < 0).any() or (total <= 0).any():
        raise ValueError(
            f"weights must be non-negative with a positive sum for every average, got smallest weight "
            f"{w.min()} and smallest sum {total.min()}"
        )
    w = w / total
    norms, units = _polar(points)
    mean = _polar(w @ units)[1]
    mean = np.where(_norm(mean) > 0, mean, units[np.argmax(w, axis=-1)])  # opposite directions cancelled
    for _ in range(100):
        cosine = np.clip(mean @ units.T, -1.0, 1.0)
        angle = np.arccos(cosine)
        sine = np.sqrt(1 - cosine**2)
        scale = w * np.where(sine > _ANTIPARALLEL_SINE, angle / np.where(sine > 0, sine, 1.0), 1.0)
        scale = np.where((cosine < 0) & (sine <= _ANTIPARALLEL_SINE), 0.0, scale)
        step = scale @ units - np.sum(scale * cosine, axis=-1, keepdims=True) * mean
        length = _norm(step)
        mean = _polar(np.cos(length) * mean + np.sin(length) * step / np.where(length > 0, length, 1.0))[1]
        if np.all(length < 1e-13):
            break
    return _validate.finite_result("spherical_average", (w @ norms[:, 0])[..., None] * mean)


def typical_norm(prior: str, latent_dim: int) -> float:
    """The norm prior samples concentrate at: sqrt(d) for N(0, I), sqrt(d / 3) for uniform on [-1, 1]^d."""
    return float(np.sqrt(latent_dim if prior == "gaussian" else latent_dim / 3.0))


def path_norms(a: ArrayLike, b: ArrayLike, count: int = 101) -> dict[str, np.ndarray]:
    """Latent norm along the lerp and slerp paths from a to b, at `count` evenly spaced t (the tent-pole)."""
    t = np.linspace(0.0, 1.0, count)
    return {"t": t, "lerp": np.linalg.norm(lerp(a, b, t), axis=-1), "slerp": np.linalg.norm(slerp(a, b, t), axis=-1)}


def _arguments(a: ArrayLike, b: ArrayLike, t: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = _validate.latents("a", a)
    b = _validate.latents("b", b)
    shape = _validate.broadcast_shape(("a", a), ("b", b))
    t = _validate.steps("t", t)
    a, b = np.broadcast_to(a, shape), np.broadcast_to(b, shape)
    return a, b, t.reshape(t.shape + (1,) * len(shape))


def _polar(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Norms (..., 1) and unit directions (zero for a zero vector), free of overflow and underflow."""
    scale = np.max(np.abs(x), axis=-1, keepdims=True)
    scaled = x / np.where(scale > 0, scale, 1.0)
    length = np.sqrt(np.sum(scaled * scaled, axis=-1, keepdims=True))
    return scale * length, scaled / np.where(length > 0, length, 1.0)


def _norm(x: np.ndarray) -> np.ndarray:
    return _polar(x)[0]


def _orthogonal(u: np.ndarray) -> np.ndarray:
    """A unit vector orthogonal to each unit `u`, the same for u and -u (e_0 for u = 0; needs d >= 2)."""
    axis = np.argmin(np.abs(u), axis=-1)[..., None]
    e = (np.arange(u.shape[-1]) == axis).astype(np.float64)
    w = e - np.take_along_axis(u, axis, axis=-1) * u
    return w / _norm(w)
