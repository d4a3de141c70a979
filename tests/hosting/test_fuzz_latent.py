"""Fuzzing the public latent API: on arbitrary float arrays (any shape, NaN, inf, huge or tiny
values) lerp, slerp, analogy, j_diagram, the attribute vectors, atdot and the ROC either return
finite numbers of the documented shape or raise a ValueError that says what was wrong."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import explorer.latent as latent

FUZZ = settings(max_examples=150, deadline=None)

floats = st.floats(allow_nan=True, allow_infinity=True, width=64)


def arrays(elements=floats, max_dims: int = 3, max_side: int = 5):
    return hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=max_side),
                      elements=elements)


def vectors(d: int, elements):
    return hnp.arrays(np.float64, (d,), elements=elements)


def outcome(call):
    """The call's result, or None after a ValueError with a message; any other exception fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow inside is fine if the result is checked
        try:
            return call()
        except ValueError as error:
            assert str(error).strip(), "a ValueError without a message"
            return None


@FUZZ
@given(a=arrays(), b=arrays(), t=st.one_of(floats, arrays(max_dims=2)), spherical=st.booleans())
def test_interpolation_on_any_arrays_returns_finite_values_or_a_value_error(a, b, t, spherical):
    result = outcome(lambda: (latent.slerp if spherical else latent.lerp)(a, b, t))
    if result is not None:
        assert np.isfinite(result).all()


@FUZZ
@given(d=st.integers(1, 6), data=st.data(), t=st.floats(0.0, 1.0))
def test_slerp_of_latents_up_to_1e150_in_magnitude_stays_finite_down_to_subnormal_values(d, data, t):
    elements = st.floats(min_value=-1e150, max_value=1e150, allow_subnormal=True)
    a, b = data.draw(vectors(d, elements)), data.draw(vectors(d, elements))
    result = outcome(lambda: latent.slerp(a, b, t))
    assert result is not None and result.shape == (d,) and np.isfinite(result).all()


@FUZZ
@given(a=arrays(), b=arrays(), c=arrays(), rescale=st.one_of(st.none(), floats))
def test_analogy_on_any_arrays_returns_a_result_or_a_value_error(a, b, c, rescale):
    result = outcome(lambda: latent.analogy(a, b, c, rescale_to=rescale))
    if result is not None:
        assert np.isfinite(result).all()


@FUZZ
@given(a=arrays(max_dims=2), b=arrays(max_dims=2), c=arrays(max_dims=2),
       rows=st.one_of(st.integers(-2, 6), floats), cols=st.integers(-2, 6))
def test_j_diagram_on_any_arrays_returns_a_grid_or_a_value_error(a, b, c, rows, cols):
    result = outcome(lambda: latent.j_diagram(a, b, c, rows, cols))
    if result is not None:
        assert result.shape == (rows, cols, a.shape[-1]) and np.isfinite(result).all()


@FUZZ
@given(latents=arrays(max_dims=3), flags=hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, min_side=0),
                                                    elements=st.sampled_from([0.0, 1.0, 0.5, np.nan])))
def test_attribute_vectors_on_any_arrays_return_a_vector_or_a_value_error(latents, flags):
    plain = outcome(lambda: latent.attribute_vector(latents, flags))
    synthetic = outcome(lambda: latent.synthetic_attribute_vector(latents, latents[::-1] if latents.ndim else latents))
    balanced = outcome(lambda: latent.balanced_attribute_vector(latents, {"a": flags, "b": flags[::-1]}, "a", ["b"]))
    for result in (plain, synthetic, balanced):
        if result is not None:
            vector = result if isinstance(result, np.ndarray) else result.vector
            assert vector.shape == latents.shape[-1:] and np.isfinite(vector).all()


@FUZZ
@given(latents=arrays(max_dims=3), vector=arrays(max_dims=2))
def test_atdot_on_any_arrays_returns_scores_or_a_value_error(latents, vector):
    scores = outcome(lambda: latent.atdot(latents, vector))
    if scores is not None:
        assert scores.shape == latents.shape[:-1] and np.isfinite(scores).all()


@FUZZ
@given(scores=arrays(max_dims=2, max_side=12),
       labels=hnp.arrays(np.int64, hnp.array_shapes(max_dims=2, min_side=0, max_side=12), elements=st.integers(-1, 2)))
def test_roc_and_best_threshold_on_any_arrays_give_a_curve_or_a_value_error(scores, labels):
    curve = outcome(lambda: latent.roc(scores, labels))
    if curve is not None:
        assert 0.0 <= curve.auc <= 1.0
        assert curve.false_positive_rate[-1] == curve.true_positive_rate[-1] == 1.0
    threshold = outcome(lambda: latent.best_threshold(scores, labels))
    if threshold is not None:
        assert 0.0 <= threshold.accuracy <= 1.0
