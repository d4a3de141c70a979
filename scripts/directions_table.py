"""The README's direction tables, measured on the shipped packs' held-out latents.

    python scripts/directions_table.py                          # emoji and glyphs: PCA names, plain vs locked
    python scripts/directions_table.py --sefa                   # and SeFa directions of the decoders' first layer
    python scripts/directions_table.py --packs fashion-gan --round-trip 5000   # PCA of decode-then-encode prior samples

For each pack it prints, as markdown:

1. the top principal directions of the held-out latents, each named by AtDot against every label
   with at least --min-count latents on each side (AUC at the end that carries the label; named
   when the AUC reaches --threshold), with the AUC a direction unrelated to that label would
   reach by chance one time in three (chance sd);
2. the side effects of one attribute's plain vector (mean difference, built on one half of the
   latents) and of the same vector locked against the three other-family labels it drags most
   (AtDot judges locked against AtDot vectors, logistic judges against logistic weights): the
   median |drag| on the other judges before and after, and the target's AUC on the other half.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from explorer.attributes import label_masks, split_halves
from explorer.latent import (
    atdot,
    atdot_judges,
    attribute_vector,
    lock_vectors,
    logistic_judges,
    median_drag,
    name_directions,
    orthogonalise,
    principal_directions,
    roc,
    sefa_directions,
    side_effects,
)
from explorer.latent.naming import DEFAULT_MIN_COUNT, DEFAULT_THRESHOLD
from explorer.packs import open_pack

TARGETS = {"emoji": "gender=woman", "glyphs": "bold"}
LOCKS = 3


def direction_table(latents: np.ndarray, directions: np.ndarray, share: np.ndarray, share_title: str, masks: dict,
                    prefix: str, threshold: float, min_count: int) -> str:
    """Markdown rows: each direction's share (of variance, or of AᵀA's trace), name, best label and next best."""
    names = name_directions(latents, directions, masks, prefix=prefix, threshold=threshold, min_count=min_count,
                            runners_up=1)
    header = f"| {prefix} | {share_title} | name | best label | AUC | chance sd | next best (AUC) |\n" \
             "|---|---:|---|---|---:|---:|---|"
    rows = [header]
    for i, name in enumerate(names):
        best = name.best
        runner = name.runners_up[0] if name.runners_up else None
        rows.append(
            f"| {name.title} | {share[i]:.1%} | {name.name} | {best.signed_label if best else '—'} | "
            f"{best.auc:.2f} | {best.null_sd:.2f} | "
            f"{f'{runner.signed_label} ({runner.auc:.2f})' if runner else '—'} |"
            if best else f"| {name.title} | {share[i]:.1%} | unnamed | — | — | — | — |")
    return "\n".join(rows)


def locked_comparison(latents: np.ndarray, masks: dict, target: str, locks: list[str] | None, min_count: int) -> str:
    """Markdown: median |drag| on the other judges of the plain and the locked vector, per kind of judge."""
    if target not in masks:
        raise SystemExit(f"no label {target!r}; labels: {', '.join(sorted(masks))}")
    judges = {"atdot": atdot_judges(latents, masks, min_count=min_count),
              "logistic": logistic_judges(latents, masks, min_count=min_count)}
    build, test = split_halves(len(latents))
    mask = masks[target]
    plain = attribute_vector(latents[build], mask[build])
    plain /= np.linalg.norm(plain)
    family = target.split("=")[0]
    if locks is None:  # the three other-family labels the plain vector drags most (AtDot), as a user would pick
        effects = side_effects(plain, judges["atdot"])
        ranked = sorted((e for e in effects if e.label.split("=")[0] != family), key=lambda e: -abs(e.drag))
        locks = [e.label for e in ranked[:LOCKS]]
    lines = [f"target **{target}** (plain vector built on {len(build)} latents, AUC on the other {len(test)}); "
             f"locked: {', '.join(locks)}", "",
             "| judges | vector | target drag | target AUC | largest \\|drag\\| on the locked "
             "| median \\|drag\\| on other unlocked judges | median \\|drag\\| on all other judges |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for kind, kind_judges in judges.items():
        locked = orthogonalise(plain, lock_vectors(kind_judges, locks))
        for label, vector in (("plain", plain), ("locked", locked)):
            effects = side_effects(vector, kind_judges)
            own = next(e.drag for e in effects if e.label == target)
            auc = roc(atdot(latents[test], vector), mask[test]).auc
            on_locked = max(abs(e.drag) for e in effects if e.label in locks)
            lines.append(f"| {kind} ({len(kind_judges)}) | {label} | {own:+.3f} | {auc:.3f} | {on_locked:.3f} | "
                         f"{median_drag(effects, kind, exclude=[target, *locks]):.3f} | "
                         f"{median_drag(effects, kind, exclude=[target]):.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packs", nargs="+", default=list(TARGETS), help="packs to measure (default: %(default)s)")
    parser.add_argument("--count", type=int, default=8, help="directions per table (default: %(default)s)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                        help="AUC a label must reach to name a direction (default: %(default)s)")
    parser.add_argument("--min-count", type=int, default=DEFAULT_MIN_COUNT,
                        help="latents a label needs on each side to be used (default: %(default)s)")
    parser.add_argument("--target", action="append", default=[], metavar="PACK=LABEL",
                        help=f"the attribute of the plain-vs-locked comparison (default: {TARGETS})")
    parser.add_argument("--locks", action="append", default=[], metavar="PACK=LABEL,LABEL",
                        help="labels to lock (default: the three other-family labels the plain vector drags most)")
    parser.add_argument("--sefa", action="store_true", help="also name the SeFa directions of the decoder")
    parser.add_argument("--round-trip", type=int, default=0, metavar="N",
                        help="also name the PCA directions of N prior samples pushed through decode then encode")
    args = parser.parse_args(argv)
    targets = {**TARGETS, **dict(item.split("=", 1) for item in args.target)}
    chosen_locks = {pack: labels.split(",") for pack, labels in (item.split("=", 1) for item in args.locks)}

    for name in args.packs:
        pack = open_pack(name)
        index = pack.index
        latents = np.asarray(index.latents, dtype=np.float64)
        masks = label_masks(index.labels or {}, index.categories or {})
        usable = sum(min(int(m.sum()), len(m) - int(m.sum())) >= args.min_count for m in masks.values())
        print(f"## {name}: {len(latents)} held-out latents of size {latents.shape[1]}, "
              f"{usable} of {len(masks)} labels with {args.min_count}+ latents on each side\n")
        pca = principal_directions(latents, count=args.count)
        print(f"### PCA of the held-out latents (named when AUC >= {args.threshold:g})\n")
        print(direction_table(latents, pca.directions, pca.explained_variance_ratio, "variance", masks, "PC",
                              args.threshold, args.min_count) + "\n")
        if args.sefa:
            from explorer.models.directions import first_linear_layer

            layer = first_linear_layer(pack.model)
            print(f"### SeFa: {layer.reason}\n")
            if layer.weight is not None:
                sefa = sefa_directions(layer.weight, count=args.count)
                total = np.sum(np.linalg.svd(layer.weight, compute_uv=False) ** 2)
                print(direction_table(latents, sefa.directions, sefa.eigenvalues / total, "eigenvalue share", masks,
                                      "SF", args.threshold, args.min_count) + "\n")
        if args.round_trip:
            from explorer.latent.sampling import sample_prior
            from explorer.models.directions import round_trip_latents

            prior = sample_prior(pack.model.prior, args.round_trip, pack.model.latent_dim, seed=0)
            trip = principal_directions(round_trip_latents(pack.model, prior), count=args.count)
            print(f"### PCA of {args.round_trip} prior samples pushed through decode then encode "
                  "(named on the held-out latents)\n")
            print(direction_table(latents, trip.directions, trip.explained_variance_ratio, "variance", masks, "RT",
                                  args.threshold, args.min_count) + "\n")
        if name in targets:
            print("### Side effects: plain vs locked\n")
            print(locked_comparison(latents, masks, targets[name], chosen_locks.get(name), args.min_count) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
