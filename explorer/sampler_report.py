"""What each sampler gives on a pack: class balance, effective sample size, precision and recall.

`evaluate_pack` draws n latents with prior sampling, MaGNET and polarity sampling at each ρ
(from the pack's sampler pool, n distinct latents as the app draws them) and with the
truncation trick at each truncation (fresh prior draws). Every latent is decoded, rounded to
uint8 as the user sees it, and encoded again with the pack's own encoder: the path the
pack index's validation images took. Then:

- labels by k-NN transfer (k=10, majority vote, ties to the nearer class): each sample takes
  the majority label of its nearest labelled validation latents in the pack index. The
  classifier's leave-one-out accuracy on the validation set is reported beside it, so the
  reader can judge the instrument before the histograms it draws;
- class histograms and their entropy in bits (flatter is higher; log2 10 = 3.32 for 10
  classes), and the vote shares (mean neighbour votes), which do not round rare labels away;
- improved precision and recall (Kynkäänniemi et al. 2019, k=3) against as many randomly
  chosen validation images as samples, since both figures depend on the two set sizes.

Why the pack encoder's latent space and not Inception features: it runs offline with nothing
downloaded, the project owns and versions it with the pack, it was trained on the pack's own
images (Inception never saw 28×28 greyscale clothes or glyphs), so its distances are
semantic for them, and at 16 to 32 dimensions k-NN radii still separate near from far. Its
limit: it sees only what that encoder learned, so compare samplers of one model, not models.

A pool draw is a sample of its sampler's target only when n is below the draw's effective
sample size (ESS, see `explorer.pool`); otherwise it tends to the pool's heaviest latents. So
each pool sampler also gets its target's class shares by importance weighting over the rung it
draws from, which are only as trustworthy as that ESS. "magnet" is MaGNET as the authors run
it (prior × top-k volume) and "uniform-manifold" the literal ÷ prior reading
(`explorer.latent.sampling`).

`label_histograms` gives the Sampling view its histogram: a draw's label shares beside those
of prior draws and of the held-out images.

    python -m explorer.sampler_report --pack fashion --out docs/sampling-fashion.png
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from explorer.latent.metrics import (
    class_histogram,
    entropy_bits,
    normalised_entropy,
    precision_recall,
)
from explorer.latent.sampling import sample_prior, sampler_target

RHOS = (-2.0, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0)
TRUNCATIONS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, None)
VOTE_K = 10
PR_K = 3
# Latents decoded at once: bounds memory for 64×64×3 images.
CHUNK = 1024


def majority_vote(neighbour_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Each row's most frequent label (n,); a tie goes to the tied class met first (the nearer one)."""
    neighbour_labels = np.asarray(neighbour_labels, dtype=np.int64)
    if neighbour_labels.ndim != 2 or neighbour_labels.shape[1] == 0:
        raise ValueError(f"neighbour labels must have shape (n, k) with k >= 1, got {neighbour_labels.shape}")
    if neighbour_labels.min(initial=0) < 0 or neighbour_labels.max(initial=0) >= n_classes:
        raise ValueError(f"neighbour labels must lie in [0, {n_classes})")
    k = neighbour_labels.shape[1]
    one_hot = neighbour_labels[:, :, None] == np.arange(n_classes)  # (n, k, classes)
    votes = one_hot.sum(axis=1)
    first_seen = np.where(votes > 0, one_hot.argmax(axis=1), k)
    return np.argmax(votes * (k + 1) - first_seen, axis=1)


def label_names(index: Any, label: str) -> list[str]:
    """Display names of a label's classes: the index's categories, "no" / "yes" for flags, else numbers."""
    if label in index.categories:
        return list(index.categories[label])
    values = index.labels[label]
    if values.dtype == bool or values.max(initial=0) <= 1:
        return ["no", "yes"]
    return [str(value) for value in range(int(values.max()) + 1)]


def transfer_labels(
    index: Any, features: np.ndarray, labels: Sequence[str], k: int = VOTE_K
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Label -> (majority labels (n,), vote shares (n, classes)) of encoder latents by k-NN in the index."""
    k = min(k, len(index))
    _, ids = index.search(features, k)
    rows = index.rows_of(ids.ravel()).reshape(ids.shape)
    return {label: _votes(index.labels[label][rows], len(label_names(index, label))) for label in labels}


def leave_one_out_accuracy(index: Any, labels: Sequence[str], k: int = VOTE_K) -> dict[str, float]:
    """Accuracy of the k-NN majority vote on the index's own labelled latents, each left out of its vote."""
    k = min(k, len(index) - 1)
    _, ids = index.search(index.latents, k, exclude_self=True)
    rows = index.rows_of(ids.ravel()).reshape(ids.shape)
    accuracy = {}
    for label in labels:
        predicted, _ = _votes(index.labels[label][rows], len(label_names(index, label)))
        accuracy[label] = round(float(np.mean(predicted == index.labels[label])), 4)
    return accuracy


def _votes(neighbour_labels: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    neighbour_labels = neighbour_labels.astype(np.int64)
    shares = (neighbour_labels[:, :, None] == np.arange(n_classes)).mean(axis=1)
    return majority_vote(neighbour_labels, n_classes), shares


def sample_features(model: Any, latents: np.ndarray) -> np.ndarray:
    """Encoder latents of the decoded samples as shown (rounded to uint8), in chunks."""
    features = np.empty((len(latents), model.latent_dim), np.float32)
    for start in range(0, len(latents), CHUNK):
        images = model.decode_latents(latents[start : start + CHUNK])
        features[start : start + CHUNK] = model.encode_images(np.rint(images * 255).astype(np.uint8))
    return features


def label_histograms(pack: Any, latents: np.ndarray, label: str, prior_draws: int = 200, seed: int = 0) -> dict[str, Any]:
    """Shares of `label` among a draw's images, `prior_draws` prior samples' and the held-out images'.

    Samples are labelled as in the report (decoded, re-encoded, 10-NN vote); the held-out
    images carry their own labels. Each group: shares (summing to 1), entropy in bits and the
    largest share.
    """
    index, model = pack.index, pack.model
    if label not in index.labels:
        raise ValueError(f"label {label!r} is not in pack {pack.name!r}'s index; it has {list(index.labels)}")
    names = label_names(index, label)
    prior = sample_prior(model.prior, prior_draws, model.latent_dim, seed)
    groups = {
        "draw": transfer_labels(index, sample_features(model, latents), [label])[label][0],
        "prior": transfer_labels(index, sample_features(model, prior), [label])[label][0],
        "held-out": index.labels[label].astype(np.int64),
    }
    histograms: dict[str, Any] = {"label": label, "categories": names}
    for group, classes in groups.items():
        counts = class_histogram(classes, len(names))
        histograms[group] = {"shares": np.round(counts / counts.sum(), 4).tolist(),
                             "entropy_bits": round(entropy_bits(counts), 4),
                             "largest_share": round(float(counts.max() / counts.sum()), 4)}
    return histograms


def pool_log_weights(pool: Any, sampler: str, rho: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The rows a `SamplerPool` draws `sampler` from (its best rung) and their log-weights, at the pool's k."""
    rows, log_weights, _, _ = pool.rung_weights(sampler_target(sampler, rho, pool.default_k))
    return rows, log_weights


def _label_figures(majority: np.ndarray, shares: np.ndarray) -> dict[str, Any]:
    """Counts of the majority labels, their entropy, and the mean vote shares, which keep rare labels."""
    n_classes = shares.shape[1]
    counts = class_histogram(majority.astype(np.int64), n_classes)
    return {
        "counts": counts.tolist(),
        "entropy_bits": round(entropy_bits(counts), 4),
        "largest_share": round(float(counts.max() / counts.sum()), 4),
        "normalised_entropy": round(normalised_entropy(counts), 4) if n_classes > 1 else None,
        "vote_shares": np.round(shares.mean(axis=0), 4).tolist(),
    }


def _run_figures(
    features: np.ndarray, votes: dict[str, tuple[np.ndarray, np.ndarray]], real: np.ndarray, rng: np.random.Generator
) -> dict[str, Any]:
    """Precision / recall against `real` (on as many samples as real images) and each label's figures."""
    compared = features[rng.choice(len(features), len(real), replace=False)] if len(features) > len(real) else features
    quality = precision_recall(real, compared, k=PR_K)
    return {
        "precision": round(quality.precision, 4),
        "recall": round(quality.recall, 4),
        "labels": {label: _label_figures(majority, shares) for label, (majority, shares) in votes.items()},
    }


def evaluate_pack(
    pack: Any,
    n: int = 2000,
    seed: int = 0,
    rhos: Sequence[float] = RHOS,
    truncations: Sequence[float | None] = TRUNCATIONS,
    labels: Sequence[str] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Class balance, ESS and precision / recall of each sampler on an opened pack (see the module doc)."""
    index, model = pack.index, pack.model
    labels = list(index.labels) if labels is None else list(labels)
    unknown = [label for label in labels if label not in index.labels]
    if unknown or not labels:
        raise ValueError(f"labels {unknown or labels} are not in pack {pack.name!r}'s index; it has {list(index.labels)}")
    if isinstance(n, bool) or not isinstance(n, int) or n <= PR_K:
        raise ValueError(f"n must be an int above {PR_K} (the k of precision / recall), got {n!r}")
    rng = np.random.default_rng(seed)
    real = index.latents[rng.choice(len(index), min(n, len(index)), replace=False)]
    report: dict[str, Any] = {
        "pack": pack.name,
        "n": n,
        "seed": seed,
        "feature_space": f"pack encoder latents ({model.latent_dim}-d), samples decoded to uint8 and re-encoded",
        "classifier": {
            "method": f"{VOTE_K}-NN majority vote against {len(index)} labelled validation latents",
            "leave_one_out_accuracy": leave_one_out_accuracy(index, labels),
        },
        "precision_recall": {"k": PR_K, "images_each": len(real)},
        "names": {label: label_names(index, label) for label in labels},
        "real": {label: _label_figures(index.labels[label], _one_hot(index, label)) for label in labels},
        "pool_size": len(pack.pool.latents) if pack.has_pool else None,
        "pool": _pool_facts(pack.pool) if pack.has_pool else None,
        "runs": {},
    }
    if pack.has_pool:
        report["runs"].update(_pool_runs(pack, n, seed, rhos, labels, real, rng, progress))
    else:
        report["pool_samplers"] = f"skipped: pack {pack.name!r} has no sampler pool (`latent-explorer pool --pack {pack.name}`)"
    for truncation in tqdm(truncations, desc=f"truncation sweep on {pack.name}", disable=not progress):
        latents = sample_prior(model.prior, n, model.latent_dim, seed, truncation)
        features = sample_features(model, latents)
        run = {"sampler": "prior", "truncation": truncation, "ess": None}
        run.update(_run_figures(features, transfer_labels(index, features, labels), real, rng))
        report["runs"][f"truncation {'none' if truncation is None else f'{truncation:g}'}"] = run
    return report


def _pool_runs(
    pack: Any, n: int, seed: int, rhos: Sequence[float], labels: list[str], real: np.ndarray,
    rng: np.random.Generator, progress: bool,
) -> dict[str, dict[str, Any]]:
    """Prior, MaGNET, ÷ prior and each polarity ρ, drawn from the pool as the app draws them.

    The whole pool is classified once; a draw's rows are looked up, not decoded again.
    """
    pool = pack.pool
    features = sample_features(pack.model, pool.latents)
    votes = transfer_labels(pack.index, features, labels)
    plan = [("prior", "prior", 0.0), ("magnet", "magnet", 1.0), ("uniform-manifold", "uniform-manifold", 1.0)]
    plan += [(f"polarity rho={rho:g}", "polarity", float(rho)) for rho in rhos]
    runs = {}
    for name, sampler, rho in tqdm(plan, desc=f"pool samplers on {pack.name}", disable=not progress):
        rows, ess, _ = pool.draw_rows(sampler, n, seed, rho)
        run = {"sampler": sampler, "rho": rho if sampler == "polarity" else None, "k": pool.default_k,
               "ess": round(ess, 1)}
        drawn = {label: (majority[rows], shares[rows]) for label, (majority, shares) in votes.items()}
        run.update(_run_figures(features[rows], drawn, real, rng))
        target_rows, log_weights = pool_log_weights(pool, sampler, rho)
        run["target"] = _target_figures(log_weights, ess, {
            label: (majority[target_rows], shares[target_rows]) for label, (majority, shares) in votes.items()})
        runs[name] = run
    return runs


def _pool_facts(pool: Any) -> dict[str, Any]:
    """How the pool was built: method, k, its rungs, the build settings."""
    return {"method": pool.method, "k": pool.default_k, "d": pool.dim, "build": pool.build,
            "rungs": [{"rho": r.rho, "kind": r.kind, "ess": round(r.ess, 1), "size": r.size} for r in pool.rungs]}


def _one_hot(index: Any, label: str) -> np.ndarray:
    return (index.labels[label].astype(np.int64)[:, None] == np.arange(len(label_names(index, label)))).astype(float)


def _target_figures(
    log_weights: np.ndarray, ess: float, pool_votes: dict[str, tuple[np.ndarray, np.ndarray]]
) -> dict[str, Any]:
    """The sampler's own class shares, importance-weighted over its rung (as trustworthy as its ESS), and entropy."""
    weights = np.exp(log_weights - log_weights.max())
    figures: dict[str, Any] = {"ess": round(ess, 1)}
    for label, (majority, shares) in pool_votes.items():
        histogram = class_histogram(majority, shares.shape[1], weights)
        figures[label] = {"shares": np.round(histogram / histogram.sum(), 4).tolist(),
                          "entropy_bits": round(entropy_bits(histogram), 4)}
    return figures


def summary(report: dict[str, Any], label: str | None = None) -> dict[str, Any]:
    """The headline figures of a report for one label: entropies, ESS and the two PR sweeps."""
    label = label or next(iter(report["names"]))
    runs = report["runs"]

    def entropy(name: str) -> float | None:
        return runs[name]["labels"][label]["entropy_bits"] if name in runs else None

    figures: dict[str, Any] = {
        "label": label,
        "classifier_accuracy": report["classifier"]["leave_one_out_accuracy"][label],
        "real_entropy_bits": report["real"][label]["entropy_bits"],
        "counts": {
            name: runs[name]["labels"][label]["counts"] for name in ("prior", "magnet", "truncation none") if name in runs
        },
        "entropy_bits": {name: entropy(name) for name in runs},
        "ess": {name: run["ess"] for name, run in runs.items() if run["ess"] is not None},
        "precision_recall": {name: [run["precision"], run["recall"]] for name, run in runs.items()},
    }
    if "magnet" in runs:
        figures["magnet_minus_prior_entropy_bits"] = round(entropy("magnet") - entropy("prior"), 4)
        figures["magnet_target_minus_prior_entropy_bits"] = round(
            runs["magnet"]["target"][label]["entropy_bits"] - runs["prior"]["target"][label]["entropy_bits"], 4
        )
    return figures


def report_figure(report: dict[str, Any], label: str | None = None, size: tuple[int, int] = (1440, 560)) -> Image.Image:
    """Left: class shares of validation images, prior and MaGNET samples; right: PR points of both sweeps."""
    from explorer.charts import grouped_bars, labelled_points, picture
    from explorer.imaging import side_by_side

    label = label or next(iter(report["names"]))
    runs = report["runs"]
    width, height = size

    def shares(counts: list[int]) -> list[float]:
        return [100.0 * count / sum(counts) for count in counts]

    bars = {f"validation (H = {report['real'][label]['entropy_bits']:.2f} bits)": shares(report["real"][label]["counts"])}
    # Without a pool, the untruncated truncation run is the prior sample.
    for title, run in (("prior", runs.get("prior", runs.get("truncation none"))), ("MaGNET", runs.get("magnet"))):
        if run is not None:
            figures = run["labels"][label]
            bars[f"{title} (H = {figures['entropy_bits']:.2f} bits)"] = shares(figures["counts"])
    left = grouped_bars(
        report["names"][label], bars, xlabel=label, ylabel="share of images (%)", group="images",
        title=f"{report['pack']}: {label} of {report['n']} samples ({VOTE_K}-NN label transfer)",
    )
    sweeps = {
        "polarity ρ sweep": [(run, f"ρ={run['rho']:g}") for run in runs.values() if run["sampler"] == "polarity"],
        "truncation sweep": [
            (run, "t=∞" if run["truncation"] is None else f"t={run['truncation']:g}")
            for run in runs.values() if "truncation" in run
        ],
    }
    series = {name: [(run["recall"], run["precision"]) for run, _ in sweep] for name, sweep in sweeps.items() if sweep}
    point_labels = {name: [text for _, text in sweep] for name, sweep in sweeps.items()}
    if "magnet" in runs:
        magnet = runs["magnet"]
        series[f"MaGNET (ESS {magnet['ess']:g})"] = [(magnet["recall"], magnet["precision"])]
        point_labels[f"MaGNET (ESS {magnet['ess']:g})"] = ["MaGNET"]
    # Recall from 0 and precision up to 1, the ends every sweep heads for; the rest fits the data.
    recalls = [x for points in series.values() for x, _ in points]
    precisions = [y for points in series.values() for _, y in points]
    right = labelled_points(
        series, point_labels, title=f"precision vs recall (k={PR_K}, encoder features)", xlabel="recall (coverage)",
        ylabel="precision (quality)", xlim=(0.0, max(recalls)), ylim=(min(precisions), 1.0),
    )
    return side_by_side([picture(left, (width // 2, height)), picture(right, (width - width // 2, height))])


def markdown_table(report: dict[str, Any]) -> str:
    """The report as a Markdown table: per run its ESS, each label's entropy and largest share, precision, recall.

    A pool run's label cell adds its target's entropy, importance-weighted over the rung it draws from.
    """
    labels = list(report["names"])
    header = ["sampler", "ESS"] + [f"{label}: H bits / top share (target H)" for label in labels] + [
        "precision", "recall"]
    rows = [["held-out images", "–"] + [
        f"{report['real'][label]['entropy_bits']:.2f} / {report['real'][label]['largest_share']:.2f}"
        for label in labels] + ["–", "–"]]
    for name, run in report["runs"].items():
        ess = "–" if run["ess"] is None else f"{run['ess']:.0f}"
        figures = [f"{run['labels'][label]['entropy_bits']:.2f} / {run['labels'][label]['largest_share']:.2f}"
                   + (f" ({run['target'][label]['entropy_bits']:.2f})" if "target" in run else "") for label in labels]
        rows.append([name, ess, *figures, f"{run['precision']:.3f}", f"{run['recall']:.3f}"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main(argv: list[str] | None = None) -> int:
    """`python -m explorer.sampler_report`: evaluate a pack's samplers, print the summary, save the figure."""
    parser = argparse.ArgumentParser(prog="python -m explorer.sampler_report", description=__doc__.split("\n")[0])
    parser.add_argument("--pack", default="fashion", help="installed model pack (default fashion)")
    parser.add_argument("--n", type=int, default=2000, help="samples per sampler (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    parser.add_argument("--labels", help="comma-separated index labels to report (default all)")
    parser.add_argument("--out", metavar="PNG", help="write the figure here")
    parser.add_argument("--json", metavar="PATH", help="write the whole report as JSON here ('-': stdout)")
    parser.add_argument("--rhos", help=f"comma-separated polarity rhos, written --rhos=-1,1 (default {RHOS})")
    parser.add_argument("--markdown", action="store_true", help="also print the runs as a Markdown table")
    args = parser.parse_args(argv)
    from explorer.atomic import atomic_file
    from explorer.packs import PackError, open_pack

    try:
        pack = open_pack(args.pack)
        labels = [label.strip() for label in args.labels.split(",")] if args.labels else None
        rhos = tuple(float(rho) for rho in args.rhos.split(",")) if args.rhos else RHOS
        report = evaluate_pack(pack, n=args.n, seed=args.seed, rhos=rhos, labels=labels, progress=True)
    except (PackError, ValueError, OSError) as error:
        print(error, file=sys.stderr)
        return 2
    print(json.dumps(summary(report), indent=2), file=sys.stderr if args.json == "-" else sys.stdout)
    if args.json == "-":
        print(json.dumps(report, indent=2))
    elif args.json:
        with atomic_file(args.json, "w") as stream:
            json.dump(report, stream, indent=2)
    if args.markdown:
        print(markdown_table(report), file=sys.stderr if args.json == "-" else sys.stdout)
    if args.out:
        with atomic_file(args.out) as stream:
            report_figure(report).save(stream, format="PNG")
        print(f"figure written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
