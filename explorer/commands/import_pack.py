"""`latent-explorer import`: make a pack from your own model and a folder of held-out images."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the new pack's name (a folder under assets/ and indexes/)")
    parser.add_argument("--model", required=True, metavar="SPEC",
                        help="'package.module:factory' (importable) or a TorchScript file with encode/decode")
    parser.add_argument("--images", required=True, metavar="DIR", help="folder of images; its seeded held-out "
                        "15%% is encoded into the pack's index")
    parser.add_argument("--attributes", metavar="FILE",
                        help="attribute table: CelebA's list_attr_celeba.txt format or a CSV with a filename column")
    parser.add_argument("--metric", choices=("l2", "cosine"), default="l2", help="neighbour metric (default: l2)")
    parser.add_argument("--pool", type=int, default=0, metavar="N",
                        help="also build a sampler pool of N prior latents for MaGNET / polarity (default: none)")
    parser.add_argument("--device", default="auto", help="device for encoding and the pool: auto, cpu, cuda")
    parser.add_argument("--force", action="store_true", help="replace an existing pack of that name")


def run(args: argparse.Namespace) -> int:
    """Import the model, index its images and print where the pack went."""
    from explorer.devices import resolve_device
    from explorer.importer import import_pack
    from explorer.models.base import ContractError
    from explorer.packs import PackError

    if args.pool < 0:
        print(f"--pool must be >= 0, got {args.pool}", file=sys.stderr)
        return 2
    try:
        pack = import_pack(args.name, args.model, args.images, args.attributes, metric=args.metric,
                           pool_size=args.pool, device=str(resolve_device(args.device)), overwrite=args.force)
    except (ContractError, PackError, ValueError, FileNotFoundError, ImportError) as error:
        print(f"latent-explorer import: {error}", file=sys.stderr)
        return 1
    print(f"pack {pack.name!r}: {len(pack.index)} held-out images indexed in {pack.index_dir}; "
          f"serve it with `latent-explorer serve --pack {pack.name}`")
    return 0
