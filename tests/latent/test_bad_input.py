"""Bad input raises ValueError naming the argument and what was received."""

import numpy as np
import pytest

import explorer.latent as latent

ok = np.ones(4)
batch = np.ones((6, 4))
flags = np.array([True, False] * 3)
labels = {"A": flags}

CASES = [
    ("NaN in a", lambda: latent.slerp([1.0, np.nan], [1.0, 2.0], 0.5), r"a must be finite, got nan at index \(1,\)"),
    ("inf in b", lambda: latent.lerp(ok, [1, 1, np.inf, 1], 0.5), r"b must be finite, got inf"),
    ("NaN step", lambda: latent.slerp(ok, ok, [0.0, np.nan]), r"t must be finite"),
    ("2-D steps", lambda: latent.slerp(ok, ok, np.zeros((2, 2))), r"t must be a scalar or a 1-D array.*\(2, 2\)"),
    ("d = 0", lambda: latent.slerp(np.zeros(0), np.zeros(0), 0.5), r"a must have at least one latent dimension"),
    ("scalar latent", lambda: latent.lerp(1.0, 2.0, 0.5), r"a must have shape \(\.\.\., d\), got shape \(\)"),
    ("latent sizes differ", lambda: latent.slerp(ok, np.ones(3), 0.5), r"b has latent size 3 .* a has 4"),
    ("leading axes differ", lambda: latent.lerp(np.ones((3, 4)), np.ones((2, 4)), 0.5), r"a \(3, 4\), b \(2, 4\)"),
    ("text latent", lambda: latent.lerp(["x"], ["y"], 0.5), r"a must be real numbers"),
    ("negative weights", lambda: latent.spherical_average(batch, -np.ones(6)), r"weights must be non-negative"),
    ("weights count", lambda: latent.spherical_average(batch, np.ones(5)), r"weights must have shape \(\.\.\., 6\)"),
    ("rescale to zero", lambda: latent.analogy(ok, ok, ok, rescale_to=0.0), r"rescale_to must be a finite positive"),
    ("zero analogy", lambda: latent.analogy(ok, ok, 0 * ok, rescale_to=1.0), r"b \+ c - a is the zero vector"),
    ("one-row J", lambda: latent.j_diagram(ok, ok, ok, 1, 3), r"rows must be an int >= 2, got 1"),
    ("batched J corner", lambda: latent.j_diagram(batch, ok, ok, 3, 3), r"a must have shape \(d,\).*\(6, 4\)"),
    ("grid too small", lambda: latent.mine_grid(ok, batch, 2, 3), r"6 cells, too few for the centre and 6"),
    ("1-D neighbours", lambda: latent.mine_grid(ok, ok, 3, 3), r"neighbours must have shape \(n, d\)"),
    ("no neighbours", lambda: latent.mine_grid(ok, np.zeros((0, 4)), 3, 3), r"neighbours must hold at least one"),
    ("no exemplars", lambda: latent.average_exemplars(np.zeros((0, 4))), r"exemplars must hold at least one"),
    ("unpaired coefficients", lambda: latent.combine_concepts([batch, batch], [1.0]), r"2 concepts and 1 coeff"),
    ("NaN coefficient", lambda: latent.combine_concepts([batch], [np.nan]), r"coefficients\[0\] must be a finite"),
    ("negative spread", lambda: latent.jitter_grid(ok, 3, 3, spread=-1.0), r"spread must be >= 0, got -1.0"),
    ("empty mask", lambda: latent.attribute_vector(batch, np.zeros(6, bool)), r"mask must mark some .*0 True of 6"),
    ("short mask", lambda: latent.attribute_vector(batch, flags[:4]), r"mask must have shape \(6,\).*\(4,\)"),
    ("non-binary mask", lambda: latent.attribute_vector(batch, np.arange(6)), r"mask must be booleans"),
    ("unknown target", lambda: latent.balanced_attribute_vector(batch, labels, "B", []), r"'B' is not in labels"),
    ("balance string", lambda: latent.balanced_attribute_vector(batch, labels, "A", "A"), r"balance must be a seq"),
    ("target balanced", lambda: latent.balanced_attribute_vector(batch, labels, "A", ["A"]), r"distinct attributes"),
    ("short label", lambda: latent.balanced_attribute_vector(batch, {"A": flags[:2]}, "A", []), r"labels\['A'\]"),
    ("unpaired edits", lambda: latent.synthetic_attribute_vector(batch, batch[:5]), r"augmented_latents must have"),
    ("vector size", lambda: latent.atdot(batch, np.ones(3)), r"latents has latent size 4 .* vector has 3"),
    ("one class", lambda: latent.roc([0.1, 0.2], [True, True]), r"labels must contain both classes, got 2 positives"),
    ("NaN score", lambda: latent.best_threshold([0.1, np.nan], [True, False]), r"scores must be finite"),
    ("2-D scores", lambda: latent.roc(np.ones((2, 2)), [True, False]), r"scores must have shape \(n,\)"),
    ("one latent", lambda: latent.prior_report(ok[None]), r"latents must hold at least 2 latents"),
    ("unknown prior", lambda: latent.prior_report(batch, "laplace"), r"prior must be one of .*got 'laplace'"),
    ("zero bins", lambda: latent.norm_histogram(batch, bins=0), r"bins must be an int >= 1, got 0"),
    ("zero latent size", lambda: latent.gaussian_shell_radius(0), r"d must be an int >= 1, got 0"),
    ("one-latent PCA", lambda: latent.principal_directions(ok[None]), r"latents must hold at least 2 latents"),
    ("zero PCA count", lambda: latent.principal_directions(batch, count=0), r"count must be an int >= 1, got 0"),
    ("1-D SeFa weight", lambda: latent.sefa_directions(ok), r"weight must have shape \(n, d\)"),
    ("NaN group", lambda: latent.custom_direction(batch, [[np.nan] * 4]), r"latents_b must be finite"),
    ("groups differ in size", lambda: latent.custom_direction(batch, np.ones((2, 3))), r"latents_b has latent size 3"),
    ("zero direction", lambda: latent.orthogonalise(0 * ok, batch[:1]), r"direction is the zero vector"),
    ("1-D locks", lambda: latent.orthogonalise(ok, ok), r"locks must have shape \(n, d\)"),
    ("masks of other length", lambda: latent.name_direction(batch, ok, {"A": flags[:3]}), r"masks\['A'\] must have"),
    ("negative l2", lambda: latent.fit_logistic(batch, flags, l2=-1.0), r"l2 must be a finite positive number"),
    ("judge of other size", lambda: latent.side_effects(np.ones(3), latent.atdot_judges(batch * flags[:, None], labels,
                                                                                       min_count=1)),
     r"judge 'A' gradient has latent size 4"),
]


@pytest.mark.parametrize(("call", "message"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_raises_a_value_error_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()
