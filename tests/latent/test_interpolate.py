"""lerp, slerp and spherical_average: the paper's numbers, edge cases and properties."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer.latent import lerp, slerp, spherical_average

coordinates = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
steps = st.floats(-2.0, 3.0, allow_nan=False)
unit_steps = st.floats(0.0, 1.0)


@st.composite
def endpoint_pairs(draw, min_d=1):
    d = draw(st.integers(min_d, 6))
    lead_a, lead_b = draw(st.sampled_from([((), ()), ((3,), (3,)), ((3,), ()), ((2, 1), (1, 4))]))
    return draw(arrays(np.float64, lead_a + (d,), elements=coordinates)), draw(
        arrays(np.float64, lead_b + (d,), elements=coordinates)
    )


def tolerance(*arrays_):
    return 1e-9 * (1.0 + max(np.abs(x).max() for x in arrays_))


def angle(x, y):
    cosine = np.sum(x * y, axis=-1) / (np.linalg.norm(x, axis=-1) * np.linalg.norm(y, axis=-1))
    return np.arccos(np.clip(cosine, -1, 1))


def test_lerp_midpoint_of_100d_gaussians_falls_inside_the_shell_at_about_7_1():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 5000, 100))
    assert np.linalg.norm(lerp(a, b, 0.5), axis=-1).mean() == pytest.approx(np.sqrt(50), abs=0.1)


def test_slerp_midpoint_of_100d_gaussians_stays_on_the_shell_at_about_10():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 5000, 100))
    assert np.linalg.norm(slerp(a, b, 0.5), axis=-1).mean() == pytest.approx(10.0, abs=0.1)


def test_slerp_of_unit_vectors_stays_on_the_unit_sphere():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 20, 50))
    a /= np.linalg.norm(a, axis=-1, keepdims=True)
    b /= np.linalg.norm(b, axis=-1, keepdims=True)
    path = slerp(a, b, np.linspace(0, 1, 11))
    np.testing.assert_allclose(np.linalg.norm(path, axis=-1), 1.0, atol=1e-12)


def test_slerp_angle_from_start_is_linear_in_t():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 8))
    t = np.linspace(0, 1, 9)
    np.testing.assert_allclose(angle(slerp(a, b, t), a), t * angle(a, b), atol=1e-10)


def test_slerp_of_parallel_vectors_of_different_lengths_is_the_lerp():
    a = np.array([1.0, 2.0, -2.0])
    t = np.array([-1.0, 0.0, 0.3, 1.0, 2.5])
    np.testing.assert_allclose(slerp(a, 3 * a, t), lerp(a, 3 * a, t), atol=1e-12)


def test_slerp_of_nearly_parallel_vectors_is_finite_and_close_to_the_lerp():
    a = np.array([1.0, 2.0, 3.0])
    b = a * 1.5 + np.array([1e-13, 0.0, -1e-13])
    path = slerp(a, b, np.linspace(0, 1, 5))
    np.testing.assert_allclose(path, lerp(a, b, np.linspace(0, 1, 5)), atol=1e-12)


def test_slerp_of_antiparallel_vectors_turns_through_the_documented_orthogonal_axis():
    # u = e0 is smallest in magnitude along axis 1 (the first of the zero axes), so w = e1
    np.testing.assert_allclose(slerp([2.0, 0.0, 0.0], [-4.0, 0.0, 0.0], 0.5), [0.0, 3.0, 0.0], atol=1e-12)


def test_slerp_of_antiparallel_vectors_keeps_norm_linear_and_ends_on_b():
    rng = np.random.default_rng(3)
    a = rng.standard_normal(10)
    t = np.linspace(0, 1, 7)
    path = slerp(a, -2.5 * a, t)
    assert np.isfinite(path).all()
    np.testing.assert_allclose(np.linalg.norm(path, axis=-1), (1 + 1.5 * t) * np.linalg.norm(a), rtol=1e-12)
    np.testing.assert_array_equal(path[-1], -2.5 * a)


def test_slerp_of_antiparallel_vectors_is_the_same_path_from_either_end():
    rng = np.random.default_rng(4)
    a = rng.standard_normal(10)
    t = np.linspace(0, 1, 7)
    np.testing.assert_allclose(slerp(a, -3 * a, t), slerp(-3 * a, a, 1 - t), atol=1e-12)


def test_slerp_from_a_zero_vector_is_the_lerp():
    b = np.array([3.0, -4.0])
    t = np.array([-0.5, 0.0, 0.25, 1.0, 2.0])
    with np.errstate(divide="raise", invalid="raise"):
        np.testing.assert_allclose(slerp(np.zeros(2), b, t), t[:, None] * b, atol=1e-12)
        np.testing.assert_allclose(slerp(b, np.zeros(2), t), (1 - t)[:, None] * b, atol=1e-12)


def test_slerp_between_zero_vectors_is_zero():
    with np.errstate(divide="raise", invalid="raise"):
        np.testing.assert_array_equal(slerp(np.zeros(4), np.zeros(4), [0.0, 0.5, 2.0]), np.zeros((3, 4)))


def test_slerp_beyond_the_endpoints_continues_along_the_circle():
    e0, e1 = np.eye(2)
    np.testing.assert_allclose(slerp(e0, e1, 2.0), -e0, atol=1e-12)
    np.testing.assert_allclose(slerp(e0, e1, -1.0), -e1, atol=1e-12)


def test_slerp_in_one_dimension_is_the_lerp():
    t = np.linspace(-1, 2, 7)
    np.testing.assert_array_equal(slerp([2.0], [-3.0], t), lerp([2.0], [-3.0], t))


def test_slerp_of_tiny_and_huge_vectors_is_finite_and_on_the_path():
    tiny = np.array([1e-300, -2e-300, 3e-300])
    huge = np.array([1e300, 1e300, 0.0])
    assert np.linalg.norm(slerp(tiny, 2 * tiny, 0.5) / tiny) == pytest.approx(1.5 * np.sqrt(3))
    np.testing.assert_allclose(slerp(huge, huge * [1, -1, 1], 0.5) / 1e300, [np.sqrt(2), 0, 0], atol=1e-12)


@given(endpoint_pairs(), st.one_of(steps, st.lists(steps, max_size=4)))
def test_result_shape_puts_the_steps_axis_first(pair, t):
    a, b = pair
    expected = np.shape(t) + np.broadcast_shapes(a.shape, b.shape)
    assert slerp(a, b, t).shape == expected
    assert lerp(a, b, t).shape == expected


@given(endpoint_pairs())
def test_slerp_returns_exactly_a_at_zero_and_b_at_one(pair):
    a, b = pair
    shape = np.broadcast_shapes(a.shape, b.shape)
    np.testing.assert_array_equal(slerp(a, b, 0.0), np.broadcast_to(a, shape))
    np.testing.assert_array_equal(slerp(a, b, 1.0), np.broadcast_to(b, shape))


@given(endpoint_pairs(min_d=2), unit_steps)
def test_slerp_norm_interpolates_linearly_between_the_endpoint_norms(pair, t):
    a, b = pair
    expected = (1 - t) * np.linalg.norm(a, axis=-1) + t * np.linalg.norm(b, axis=-1)
    np.testing.assert_allclose(np.linalg.norm(slerp(a, b, t), axis=-1), expected, rtol=1e-9, atol=tolerance(a, b))


@given(endpoint_pairs(), steps)
def test_slerp_is_symmetric_under_swapping_the_ends(pair, t):
    a, b = pair
    np.testing.assert_allclose(slerp(a, b, t), slerp(b, a, 1 - t), atol=4 * tolerance(a, b))


@given(endpoint_pairs(), steps)
def test_slerp_is_always_finite(pair, t):
    assert np.isfinite(slerp(*pair, t)).all()


def test_spherical_average_of_two_latents_is_the_slerp():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2, 6))
    t = np.linspace(0, 1, 6)
    weights = np.stack([1 - t, t], axis=1)
    np.testing.assert_allclose(spherical_average(np.stack([a, b]), weights), slerp(a, b, t), atol=1e-10)


def test_spherical_average_of_equal_norm_latents_keeps_that_norm():
    rng = np.random.default_rng(6)
    points = rng.standard_normal((5, 8))
    points *= 3 / np.linalg.norm(points, axis=-1, keepdims=True)
    averages = spherical_average(points, rng.random((10, 5)))
    np.testing.assert_allclose(np.linalg.norm(averages, axis=-1), 3.0, rtol=1e-12)


def test_spherical_average_with_a_zero_latent_matches_slerp_from_zero():
    b = np.array([3.0, -4.0, 12.0])
    t = np.array([0.2, 0.5, 0.9])
    averages = spherical_average(np.stack([np.zeros(3), b]), np.stack([1 - t, t], axis=1))
    np.testing.assert_allclose(averages, t[:, None] * b, atol=1e-12)


def test_spherical_average_of_zero_latents_is_zero():
    with np.errstate(divide="raise", invalid="raise"):
        np.testing.assert_array_equal(spherical_average(np.zeros((3, 4)), [1.0, 2.0, 3.0]), np.zeros(4))
