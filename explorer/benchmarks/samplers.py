"""Benchmark: what the samplers give on the fashion packs: class balance, ESS, precision / recall.

The figures come from `explorer.sampler_report` (see there for the classifier and the feature
space); each pack's entry is its `summary`. The one target is on the instrument, not on the
samplers: the k-NN label transfer must classify held-out validation images well enough for
its histograms to mean something. Whether MaGNET's classes come out flatter than the prior's
is reported as measured (`magnet_flatter_than_prior`), not as a target. Packs that are not
installed are reported as skipped.
"""

from __future__ import annotations

from typing import Any

from explorer.bench import target
from explorer.sampler_report import RHOS, TRUNCATIONS, evaluate_pack, summary

QUICK = {"packs": ("fashion",), "n": 500, "rhos": (-1.0, 0.0, 1.0), "truncations": (0.5, 1.0, None)}
FULL = {"packs": ("fashion", "fashion-gan"), "n": 2000, "rhos": RHOS, "truncations": TRUNCATIONS}
TARGET_CLASSIFIER_ACCURACY = 0.7


def run(quick: bool) -> dict[str, Any]:
    """Evaluate each configured pack's samplers and return their summaries."""
    from explorer.packs import PackError, open_pack

    config = QUICK if quick else FULL
    report: dict[str, Any] = {"n": config["n"]}
    for name in config["packs"]:
        try:
            pack = open_pack(name)
            full = evaluate_pack(pack, n=config["n"], rhos=config["rhos"], truncations=config["truncations"])
        except (PackError, OSError) as error:
            report[name] = {"skipped": f"{type(error).__name__}: {error}"}
            continue
        figures = summary(full)
        figures["targets"] = {
            "classifier_accuracy": target(figures["classifier_accuracy"], TARGET_CLASSIFIER_ACCURACY, "", at_least=True)
        }
        if "magnet_minus_prior_entropy_bits" in figures:
            figures["magnet_flatter_than_prior"] = figures["magnet_minus_prior_entropy_bits"] > 0
        report[name] = figures
    return report
