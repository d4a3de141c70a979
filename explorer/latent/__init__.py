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
from explorer.latent.diagnostics import (
    ManifoldReport,
    NormHistogram,
    PriorReport,
    dead_dimensions,
    kl_per_dimension,
    manifold_report,
    nearest_distances,
    norm_histogram,
    percentile_of,
    prior_report,
)
from explorer.latent.directions import (
    CustomDirection,
    PrincipalDirections,
    SefaDirections,
    custom_direction,
    orthogonalise,
    principal_directions,
    sefa_directions,
)
from explorer.latent.exemplars import average_exemplars, combine_concepts, jitter_grid
from explorer.latent.grids import MineGrid, mine_grid, mine_neighbour_count
from explorer.latent.interpolate import lerp, path_norms, slerp, spherical_average, typical_norm
from explorer.latent.logistic import LogisticFit, fit_logistic
from explorer.latent.naming import DirectionName, LabelScore, label_scores, name_direction, name_directions
from explorer.latent.side_effects import (
    Judge,
    SideEffect,
    atdot_judges,
    lock_vectors,
    logistic_judges,
    median_drag,
    side_effects,
)

__all__ = [
    "BalancedAttribute",
    "CustomDirection",
    "DirectionName",
    "Judge",
    "LabelScore",
    "LogisticFit",
    "MineGrid",
    "NormHistogram",
    "PrincipalDirections",
    "PriorReport",
    "RocCurve",
    "SefaDirections",
    "SideEffect",
    "Threshold",
    "analogy",
    "atdot",
    "atdot_judges",
    "attribute_vector",
    "average_exemplars",
    "balanced_attribute_vector",
    "best_threshold",
    "combine_concepts",
    "custom_direction",
    "dead_dimensions",
    "fit_logistic",
    "gaussian_shell_radius",
    "j_diagram",
    "jitter_grid",
    "label_scores",
    "lerp",
    "lock_vectors",
    "logistic_judges",
    "median_drag",
    "mine_grid",
    "mine_neighbour_count",
    "name_direction",
    "name_directions",
    "norm_histogram",
    "ManifoldReport",
    "kl_per_dimension",
    "manifold_report",
    "nearest_distances",
    "percentile_of",
    "orthogonalise",
    "path_norms",
    "principal_directions",
    "prior_report",
    "roc",
    "sefa_directions",
    "side_effects",
    "slerp",
    "spherical_average",
    "synthetic_attribute_vector",
    "typical_norm",
]
