"""The README's outside-the-manifold table, measured on the shipped packs' encoded held-out images.

    python scripts/manifold_table.py                     # all installed packs, 3 seeds of 2,000 prior samples
    python scripts/manifold_table.py --packs fashion --seeds 5 --samples 5000

For each pack it prints one markdown row: the share of prior samples whose nearest encoded held-out
image is farther than the 95th percentile of the images' own leave-one-out nearest-neighbour
distances (explorer.latent.diagnostics.manifold_report; Euclidean, in latent space), as the mean
and range over the seeds, beside the prior-deviation figures the Diagnostics view shows.
"""

from __future__ import annotations

import argparse

import numpy as np

from explorer.latent.diagnostics import kl_per_dimension, manifold_report, prior_report
from explorer.packs import list_packs, open_pack


def row(pack_name: str, seeds: int, samples: int) -> str:
    """One markdown table row for `pack_name`."""
    pack = open_pack(pack_name)
    latents = np.asarray(pack.index.latents, dtype=np.float64)
    prior = pack.card["model"]["prior"]
    moments = prior_report(latents, prior)
    kl = kl_per_dimension(moments.mean, np.maximum(moments.variance, 1e-12), prior).sum()
    shares = [manifold_report(latents, prior, samples=samples, seed=seed).share_outside for seed in range(seeds)]
    return (f"| {pack_name} | {pack.card['model']['type']} | {latents.shape[1]} | {len(latents)} | "
            f"{len(moments.dead_dimensions)} | {moments.rms_norm:.2f} / {moments.expected_rms_norm:.2f} | {kl:.1f} | "
            f"**{100 * np.mean(shares):.1f} %** ({100 * min(shares):.1f}–{100 * max(shares):.1f}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packs", nargs="*", default=None, help="packs to measure (default: all installed)")
    parser.add_argument("--seeds", type=int, default=3, help="prior-sample seeds to average over (default: 3)")
    parser.add_argument("--samples", type=int, default=2000, help="prior samples per seed (default: 2000)")
    args = parser.parse_args()
    print("| pack | model | d | held-out images | dead dims | RMS norm / prior's | KL of moments (nats) "
          f"| outside the manifold (mean, range over {args.seeds} seeds of {args.samples}) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.packs or list_packs():
        print(row(name, args.seeds, args.samples), flush=True)


if __name__ == "__main__":
    main()
