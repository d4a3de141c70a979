"""Latent ops: pure numpy functions on latent vectors (numpy in, numpy out; no torch, UI or I/O).

Latents are float arrays whose last axis is the latent size d. Bad input raises ValueError naming
the argument, what was received and what is wanted.
"""

from explorer.latent.analogy import analogy, gaussian_shell_radius, j_diagram
from explorer.latent.attributes import (
    BalancedAttribute,
    attribute_vector,
    balanced_attribute_vector,
    synthetic_attribute_vector,
)
from explorer.latent.classify import RocCurve, Threshold, atdot, best_threshold, roc
from explorer.latent.diagnostics import NormHistogram, PriorReport, dead_dimensions, norm_histogram, prior_report
from explorer.latent.exemplars import average_exemplars, combine_concepts, jitter_grid
from explorer.latent.grids import MineGrid, mine_grid, mine_neighbour_count
from explorer.latent.interpolate import lerp, path_norms, slerp, spherical_average, typical_norm

__all__ = [
    "BalancedAttribute",
    "MineGrid",
    "NormHistogram",
    "PriorReport",
    "RocCurve",
    "Threshold",
    "analogy",
    "atdot",
    "attribute_vector",
    "average_exemplars",
    "balanced_attribute_vector",
    "best_threshold",
    "combine_concepts",
    "dead_dimensions",
    "gaussian_shell_radius",
    "j_diagram",
    "jitter_grid",
    "lerp",
    "mine_grid",
    "mine_neighbour_count",
    "norm_histogram",
    "path_norms",
    "prior_report",
    "roc",
    "slerp",
    "spherical_average",
    "synthetic_attribute_vector",
    "typical_norm",
]
