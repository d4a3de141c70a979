"""`latent-explorer pool`: precompute a pack's sampler pool (latents, log singular values, rungs)."""

from __future__ import annotations

import argparse

# The pool samplers whose draw ESS the command prints: (sampler, rho).
REPORTED = (("prior", 0.0), ("magnet", 1.0), ("uniform-manifold", 1.0), ("polarity", -1.0), ("polarity", -0.5),
            ("polarity", 0.5))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the pool command's options."""
    from explorer.pool import ESS_GOAL, METHODS, RHOS

    parser.add_argument("--pack", required=True, help="name of the installed model pack")
    parser.add_argument(
        "--method", choices=METHODS, default="adaptive",
        help="adaptive (default): prior draws plus draws from Gaussians fitted to each rho's target, "
        "mixture-weighted; mcmc: prior draws plus independent Metropolis-Hastings chains per rho; "
        "importance: prior draws only",
    )
    parser.add_argument("--n", type=int, default=None,
                        help="prior latents in the pool (default 4096 for importance, 1024 otherwise)")
    parser.add_argument("--k", type=int, default=None,
                        help="top-k singular values of the volume (default: the pack's active latent dimensions, "
                        "capped so that log vol_k spreads by at most 1.5 nats over the prior)")
    parser.add_argument("--rhos", default=",".join(f"{rho:g}" for rho in RHOS),
                        help="comma-separated rho targets of the adaptive or mcmc rungs, written --rhos=-1,-0.5,0.5,1 "
                        f"(default {','.join(f'{rho:g}' for rho in RHOS)})")
    parser.add_argument("--draws", type=int, default=512, help="adaptive: latents per round (default 512)")
    parser.add_argument("--rounds", type=int, default=3, help="adaptive: most rounds per rho (default 3)")
    parser.add_argument("--ess-goal", type=float, default=ESS_GOAL,
                        help=f"adaptive: stop a rho's rounds at this ESS (default {ESS_GOAL:g})")
    parser.add_argument("--chains", type=int, default=64, help="mcmc: chains per rho (default 64)")
    parser.add_argument("--steps", type=int, default=16, help="mcmc: kept steps per chain (default 16)")
    parser.add_argument("--burn-in", type=int, default=4, help="mcmc: dropped steps per chain (default 4)")
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="where to decode (default: CUDA when present)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the prior latents (default 0)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="latents per Jacobian batch; lower it if memory runs out (default 128 on CUDA, 16 on CPU)",
    )


def run(args: argparse.Namespace) -> int:
    """Build the pool for --pack and write it atomically to the pack's index folder as pool.npz."""
    import sys
    import time

    import numpy as np
    import torch

    from explorer.devices import resolve_device
    from explorer.latent.sampling import active_dimensions
    from explorer.packs import open_pack
    from explorer.pool import build_pool, build_rung_pool

    n = args.n if args.n is not None else (4096 if args.method == "importance" else 1024)
    if n < 2 or (args.batch_size is not None and args.batch_size < 1):
        print(f"--n must be at least 2 and --batch-size positive, got {n} and {args.batch_size}", file=sys.stderr)
        return 2
    try:
        rhos = tuple(float(rho) for rho in args.rhos.split(","))
        device = resolve_device(args.device)
    except ValueError as error:
        print(f"{error} (--rhos takes comma-separated numbers, e.g. --rhos=-1,-0.5,0.5,1)", file=sys.stderr)
        return 2
    # TF32 convolutions (PyTorch's cuDNN default) put ~0.03 nats of error in each log-volume;
    # this process only builds the pool, so full float32 costs nobody else anything.
    torch.backends.cudnn.allow_tf32 = False
    pack = open_pack(args.pack)
    pack.model.to(device)
    active = active_dimensions(pack.index.latents) if pack.has_index else None
    started = time.perf_counter()
    try:
        if args.method == "importance":
            pool = build_pool(pack.model.model, n, args.seed, args.batch_size, str(device),
                              weights_hash=pack.weights_hash, k=args.k, active=active)
        else:
            pool = build_rung_pool(
                pack.model.model, n, args.method, rhos, weights_hash=pack.weights_hash, k=args.k, active=active,
                draws=args.draws, ess_goal=args.ess_goal, rounds=args.rounds, chains=args.chains, steps=args.steps,
                burn_in=args.burn_in, seed=args.seed, batch_size=args.batch_size, device=str(device),
            )
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    path = pack.index_dir / "pool.npz"
    pool.save(path)
    measured = pool.build["log_volumes_measured"]
    low, median, high = np.percentile(pool.log_volume_k(pool.default_k), [5, 50, 95])
    ess = ", ".join(
        f"{sampler}{f' ρ={rho:g}' if sampler == 'polarity' else ''} {pool.draw_rows(sampler, 1, 0, rho)[1]:.0f}"
        for sampler, rho in REPORTED
    )
    print(
        f"wrote {path}: {args.method} pool of {len(pool.latents)} latents, k={pool.default_k} "
        f"(active dimensions {active}), {measured} log-volumes on {device} in {seconds:.1f} s "
        f"({1000 * seconds / measured:.1f} ms each); log vol_k 5/50/95%: {low:.1f} / {median:.1f} / {high:.1f}\n"
        f"ESS of a draw: {ess}"
    )
    return 0
