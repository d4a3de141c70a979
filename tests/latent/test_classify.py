"""AtDot scores, exact ROC/AUC and the accuracy-maximising threshold."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from explorer.latent import atdot, best_threshold, roc


@pytest.fixture
def tied_scores():
    """Scores rounded to one decimal so that many of them tie, with labels that depend on them."""
    rng = np.random.default_rng(0)
    labels = rng.random(300) < 0.4
    return np.round(rng.standard_normal(300) + labels, 1), labels


def test_atdot_is_the_dot_product_with_the_vector():
    latents = np.array([[1.0, 2.0], [3.0, -1.0]])
    np.testing.assert_array_equal(atdot(latents, [2.0, 1.0]), [4.0, 5.0])


def test_auc_agrees_with_sklearn(tied_scores):
    scores, labels = tied_scores
    assert roc(scores, labels).auc == pytest.approx(roc_auc_score(labels, scores), rel=1e-12)


def test_auc_is_the_mann_whitney_pairwise_count_with_ties_as_half(tied_scores):
    scores, labels = tied_scores
    difference = scores[labels][:, None] - scores[~labels][None, :]
    pairwise = ((difference > 0).sum() + 0.5 * (difference == 0).sum()) / difference.size
    assert roc(scores, labels).auc == pytest.approx(pairwise, rel=1e-12)


def test_roc_points_agree_with_sklearn(tied_scores):
    scores, labels = tied_scores
    fpr, tpr, thresholds = roc_curve(labels, scores, drop_intermediate=False)
    curve = roc(scores, labels)
    np.testing.assert_allclose(curve.false_positive_rate, fpr)
    np.testing.assert_allclose(curve.true_positive_rate, tpr)
    np.testing.assert_array_equal(curve.thresholds[1:], thresholds[1:])


def test_tied_scores_form_one_diagonal_step():
    curve = roc([0.5, 0.5, 0.5, 0.5], [True, False, True, False])
    np.testing.assert_array_equal(curve.false_positive_rate, [0.0, 1.0])
    np.testing.assert_array_equal(curve.true_positive_rate, [0.0, 1.0])
    assert curve.auc == 0.5


def test_best_threshold_separates_separable_scores_perfectly():
    threshold, accuracy = best_threshold([0.1, 0.2, 0.8, 0.9], [False, False, True, True])
    assert (threshold, accuracy) == (0.8, 1.0)


def test_best_threshold_matches_a_brute_force_search(tied_scores):
    scores, labels = tied_scores
    candidates = np.r_[np.inf, np.unique(scores)]
    accuracies = [((scores >= c) == labels).mean() for c in candidates]
    threshold, accuracy = best_threshold(scores, labels)
    assert accuracy == pytest.approx(max(accuracies))
    assert ((scores >= threshold) == labels).mean() == pytest.approx(accuracy)
