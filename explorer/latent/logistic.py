"""L2-regularised logistic regression on latents, fitted by Newton's method (numpy only).

Minimises  sum_i [log(1 + exp(eta_i)) - y_i eta_i] + (l2 / 2) |w|^2  with eta = latents @ w + b;
the bias is not penalised. This is scikit-learn's LogisticRegression(C=1 / l2) objective. The
objective is strictly convex in w (l2 > 0) and in b (both classes present), so Newton's method
with step halving converges from zero in a handful of steps for latent sizes in the hundreds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from explorer.latent import _validate

MAX_STEPS = 100
TOLERANCE = 1e-10  # on the largest change of a coefficient


@dataclass(frozen=True)
class LogisticFit:
    """A fitted logistic judge: logit(latent) = latent @ weights + bias."""

    weights: np.ndarray  # (d,): the change of logit per unit change of each latent coordinate
    bias: float
    steps: int  # Newton steps taken

    def logits(self, latents: ArrayLike) -> np.ndarray:
        """Logits (n,) of latents (n, d)."""
        return _validate.latents("latents", latents, ndim=2) @ self.weights + self.bias


def fit_logistic(latents: ArrayLike, labels: ArrayLike, l2: float = 1.0) -> LogisticFit:
    """Logistic regression of `labels` (n,) on `latents` (n, d) with penalty (l2 / 2) |w|^2."""
    latents = _validate.latents("latents", latents, ndim=2)
    labels = _validate.mask("labels", labels, len(latents))
    l2 = _validate.scalar("l2", l2, positive=True)
    positives = int(labels.sum())
    if positives in (0, len(labels)):
        raise ValueError(f"labels must contain both classes, got {positives} positives of {len(labels)}")
    n, d = latents.shape
    design = np.hstack([latents, np.ones((n, 1))])
    target = labels.astype(np.float64)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    theta = np.zeros(d + 1)
    objective = _objective(design, target, penalty, theta)
    for step in range(1, MAX_STEPS + 1):
        eta = design @ theta
        p = _sigmoid(eta)
        gradient = design.T @ (p - target) + penalty * theta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        newton = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        size = 1.0
        while True:  # step halving: Newton's step may overshoot far from the optimum
            candidate = theta - size * newton
            value = _objective(design, target, penalty, candidate)
            if value <= objective or size < 1e-8:
                break
            size /= 2
        change = np.max(np.abs(candidate - theta))
        theta, objective = candidate, value
        if change < TOLERANCE * max(1.0, np.max(np.abs(theta))):
            return LogisticFit(weights=theta[:d], bias=float(theta[d]), steps=step)
    raise ValueError(
        f"logistic regression did not converge in {MAX_STEPS} Newton steps (l2={l2}); "
        "the latents may be of extreme scale: try a larger l2"
    )


def _sigmoid(eta: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -eta))


def _objective(design: np.ndarray, target: np.ndarray, penalty: np.ndarray, theta: np.ndarray) -> float:
    eta = design @ theta
    return float(np.sum(np.logaddexp(0.0, eta) - target * eta) + 0.5 * np.sum(penalty * theta**2))
