"""`latent-explorer pool`: precompute a pack's sampler pool (latents and decoder log-volumes)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the pool command's options."""
    parser.add_argument("--pack", required=True, help="name of the installed model pack")
    parser.add_argument("--n", type=int, default=4096, help="number of prior latents in the pool (default 4096)")
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
    from explorer.packs import open_pack
    from explorer.pool import build_pool

    if args.n < 1 or (args.batch_size is not None and args.batch_size < 1):
        print(f"--n and --batch-size must be positive, got {args.n} and {args.batch_size}", file=sys.stderr)
        return 2
    try:
        device = resolve_device(args.device)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    # TF32 convolutions (PyTorch's cuDNN default) put ~0.03 nats of error in each log-volume;
    # this process only builds the pool, so full float32 costs nobody else anything.
    torch.backends.cudnn.allow_tf32 = False
    pack = open_pack(args.pack)
    pack.model.to(device)
    started = time.perf_counter()
    pool = build_pool(pack.model.model, args.n, args.seed, args.batch_size, str(device), weights_hash=pack.weights_hash)
    seconds = time.perf_counter() - started
    path = pack.index_dir / "pool.npz"
    pool.save(path)
    low, median, high = np.percentile(pool.log_volume, [5, 50, 95])
    print(
        f"wrote {path}: {args.n} latents on {device} in {seconds:.1f} s "
        f"({1000 * seconds / args.n:.1f} ms per latent); log-volume 5/50/95%: {low:.1f} / {median:.1f} / {high:.1f}"
    )
    return 0
