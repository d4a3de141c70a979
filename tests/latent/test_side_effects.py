"""Logistic judges, and how every judge moves per unit step along a direction (with and without locks)."""

import numpy as np
import pytest

from explorer.latent import (
    atdot_judges,
    attribute_vector,
    fit_logistic,
    lock_vectors,
    logistic_judges,
    median_drag,
    orthogonalise,
    side_effects,
)


@pytest.fixture
def correlated():
    """Latents where "smiling" (axis 0) co-occurs with "woman" (axis 1), and "hat" (axis 2) is independent."""
    rng = np.random.default_rng(5)
    n, d = 3000, 8
    woman = rng.random(n) < 0.5
    smiling = np.where(woman, rng.random(n) < 0.8, rng.random(n) < 0.2)
    hat = rng.random(n) < 0.4
    latents = rng.standard_normal((n, d))
    latents[:, 0] += 1.5 * smiling
    latents[:, 1] += 1.5 * woman
    latents[:, 2] += 1.5 * hat
    return latents, {"smiling": smiling, "woman": woman, "hat": hat}


def test_logistic_fit_agrees_with_sklearn(correlated):
    from sklearn.linear_model import LogisticRegression

    latents, masks = correlated
    fit = fit_logistic(latents, masks["smiling"], l2=2.0)
    reference = LogisticRegression(C=0.5, tol=1e-12, max_iter=10_000).fit(latents, masks["smiling"])
    np.testing.assert_allclose(fit.weights, reference.coef_[0], atol=1e-6)
    assert fit.bias == pytest.approx(reference.intercept_[0], abs=1e-6)


def test_logistic_fit_stays_finite_on_separable_labels():
    rng = np.random.default_rng(0)
    latents = rng.standard_normal((200, 4))
    fit = fit_logistic(latents, latents[:, 0] > 0, l2=0.01)
    assert np.isfinite(fit.weights).all() and fit.weights[0] > 5 * np.abs(fit.weights[1:]).max()
    assert np.mean((fit.logits(latents) > 0) == (latents[:, 0] > 0)) >= 0.98


def test_logistic_fit_needs_both_classes():
    with pytest.raises(ValueError, match="labels must contain both classes, got 3 positives of 3"):
        fit_logistic(np.ones((3, 2)), [True, True, True])


def test_an_atdot_judges_drag_is_the_cosine_with_its_attribute_vector(correlated):
    latents, masks = correlated
    judges = atdot_judges(latents, masks)
    direction = np.random.default_rng(1).standard_normal(latents.shape[1]) * 4.0  # not unit: made unit
    for judge, effect in zip(judges, side_effects(direction, judges)):
        vector = attribute_vector(latents, masks[judge.label])
        cosine = vector @ direction / (np.linalg.norm(vector) * np.linalg.norm(direction))
        assert (effect.label, effect.kind) == (judge.label, "atdot")
        assert effect.drag == pytest.approx(cosine, rel=1e-12)


def test_a_logistic_judges_drag_is_the_change_of_logit_per_unit_step(correlated):
    latents, masks = correlated
    judges = logistic_judges(latents, masks)
    direction = np.random.default_rng(2).standard_normal(latents.shape[1])
    unit = direction / np.linalg.norm(direction)
    fit = fit_logistic(latents, masks["woman"])
    effect = next(effect for effect in side_effects(direction, judges) if effect.label == "woman")
    start = latents[:5]
    assert effect.drag == pytest.approx(np.mean(fit.logits(start + 0.5 * unit) - fit.logits(start)) / 0.5, rel=1e-9)


@pytest.mark.parametrize("kind", ["atdot", "logistic"])
def test_the_plain_vector_drags_the_correlated_attribute_and_locking_removes_it(correlated, kind):
    latents, masks = correlated
    judges = atdot_judges(latents, masks) if kind == "atdot" else logistic_judges(latents, masks)
    plain = attribute_vector(latents, masks["smiling"])
    before = {effect.label: effect.drag for effect in side_effects(plain, judges)}
    after = {effect.label: effect.drag for effect in side_effects(orthogonalise(plain, lock_vectors(judges, ["woman"])),
                                                                  judges)}
    assert abs(before["woman"]) > 0.2
    assert abs(after["woman"]) <= 1e-9
    assert after["smiling"] > 0.3 * before["smiling"]  # the target still moves (0.47 of its gap for AtDot)


def test_lock_vectors_are_the_gradients_of_the_judges_of_the_locked_labels(correlated):
    latents, masks = correlated
    judges = atdot_judges(latents, masks) + logistic_judges(latents, masks)
    locks = lock_vectors(judges, ["woman", "hat"])
    np.testing.assert_array_equal(locks, [judge.gradient for judge in judges if judge.label in ("woman", "hat")])
    np.testing.assert_array_equal(lock_vectors(judges, ["hat"], kind="logistic"), [judges[-1].gradient])
    with pytest.raises(ValueError, match="no judge for 'beard'"):
        lock_vectors(judges, ["beard"])


def test_median_drag_leaves_out_excluded_labels_and_other_kinds(correlated):
    latents, masks = correlated
    judges = atdot_judges(latents, masks)
    effects = side_effects(attribute_vector(latents, masks["smiling"]), judges)
    drags = {effect.label: abs(effect.drag) for effect in effects}
    assert median_drag(effects, "atdot", exclude=["smiling"]) == pytest.approx(np.median([drags["woman"], drags["hat"]]))
    with pytest.raises(ValueError, match="no logistic judge is left"):
        median_drag(effects, "logistic")


def test_judges_skip_labels_with_too_few_latents_on_a_side(correlated):
    latents, masks = correlated
    rare = np.zeros(len(latents), bool)
    rare[:4] = True
    judges = atdot_judges(latents, {**masks, "rare": rare}, min_count=10)
    assert "rare" not in {judge.label for judge in judges}


def test_a_zero_direction_has_no_side_effects_to_measure(correlated):
    latents, masks = correlated
    with pytest.raises(ValueError, match="direction is the zero vector"):
        side_effects(np.zeros(latents.shape[1]), atdot_judges(latents, masks))
