"""Argument checks shared by the latent ops: each raises ValueError naming the argument,
the value or shape received, and what is wanted."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

_SHAPES = {1: "(d,)", 2: "(n, d)"}


def latents(name: str, value: ArrayLike, *, ndim: int | None = None) -> np.ndarray:
    """`value` as a finite float64 array of shape (..., d) with d >= 1 (or exactly `ndim` axes)."""
    arr = _numeric(name, value)
    want = "(..., d)" if ndim is None else _SHAPES[ndim]
    if arr.ndim == 0 or (ndim is not None and arr.ndim != ndim):
        raise ValueError(f"{name} must have shape {want}, got shape {arr.shape}")
    if arr.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one latent dimension (d >= 1), got shape {arr.shape}")
    _finite(name, arr)
    return arr


def nonempty(name: str, arr: np.ndarray) -> np.ndarray:
    """`arr` unchanged, provided it holds at least one latent (first axis not empty)."""
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one latent, got shape {arr.shape}")
    return arr


def same_dim(*named: tuple[str, np.ndarray]) -> None:
    """Check that all the named arrays share one latent size d (their last axis)."""
    first_name, first = named[0]
    for name, arr in named[1:]:
        if arr.shape[-1] != first.shape[-1]:
            raise ValueError(
                f"{name} has latent size {arr.shape[-1]} (shape {arr.shape}) but {first_name} has "
                f"{first.shape[-1]} (shape {first.shape}); all latents must share one size"
            )


def broadcast_shape(*named: tuple[str, np.ndarray]) -> tuple[int, ...]:
    """The common shape of arrays that must broadcast together (same d, compatible leading axes)."""
    same_dim(*named)
    try:
        return np.broadcast_shapes(*(arr.shape for _, arr in named))
    except ValueError:
        shapes = ", ".join(f"{name} {arr.shape}" for name, arr in named)
        raise ValueError(f"shapes do not broadcast: {shapes}; leading axes must match or be 1") from None


def numbers(name: str, value: ArrayLike) -> np.ndarray:
    """`value` as a finite float64 array of any shape."""
    arr = _numeric(name, value)
    _finite(name, arr)
    return arr


def steps(name: str, value: ArrayLike) -> np.ndarray:
    """`value` as a finite float64 scalar or 1-D array of interpolation steps."""
    arr = numbers(name, value)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array of steps, got shape {arr.shape}")
    return arr


def scalar(name: str, value: float, *, positive: bool = False) -> float:
    """`value` as a finite float (and > 0 if `positive`)."""
    arr = _numeric(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a single number, got shape {arr.shape}")
    number = float(arr)
    if not np.isfinite(number) or (positive and number <= 0):
        raise ValueError(f"{name} must be a finite {'positive ' if positive else ''}number, got {number!r}")
    return number


def count(name: str, value: int, *, minimum: int = 1) -> int:
    """`value` as an int no smaller than `minimum`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def mask(name: str, value: ArrayLike, n: int) -> np.ndarray:
    """`value` as a bool array of shape (n,); 0/1 numbers are accepted."""
    arr = np.asarray(value)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one flag per latent, got shape {arr.shape}")
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf" or not np.isin(arr, (0, 1)).all():
            values = np.unique(arr)[:5]
            raise ValueError(f"{name} must be booleans (or 0/1), got dtype {arr.dtype} with values {values}")
        arr = arr.astype(bool)
    return arr


def labels(name: str, value: Mapping[str, ArrayLike], n: int) -> dict[str, np.ndarray]:
    """`value` as a dict of bool masks of shape (n,), one per attribute name."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must map attribute names to bool arrays, got {type(value).__name__}")
    return {key: mask(f"{name}[{key!r}]", flags, n) for key, flags in value.items()}


def finite_result(what: str, result: np.ndarray) -> np.ndarray:
    """`result` unchanged when finite; ValueError when inputs of huge magnitude overflowed float64 in `what`."""
    if not np.isfinite(result).all():
        raise ValueError(
            f"{what} overflowed float64: its inputs are too large in magnitude (largest finite float64 is 1.8e308); "
            "latents and steps of a usable size stay far below that"
        )
    return result


def _numeric(name: str, value: ArrayLike) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except ValueError as error:
        raise ValueError(f"{name} must be a numeric array, got a ragged {type(value).__name__}: {error}") from None
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def _finite(name: str, arr: np.ndarray) -> None:
    bad = np.argwhere(~np.isfinite(arr))
    if len(bad):
        index = tuple(int(i) for i in bad[0])
        raise ValueError(f"{name} must be finite, got {arr[index]} at index {index} (of shape {arr.shape})")
