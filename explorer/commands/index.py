"""`latent-explorer index`: encode a pack's held-out images into its FAISS index."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `latent-explorer index`."""
    parser.add_argument("--pack", required=True, help="name of the installed pack to index")
    parser.add_argument("--split", default="validation", choices=("train", "validation"), help="default: validation")
    parser.add_argument(
        "--metric", choices=("cosine", "l2"), default=None, help="default: the pack card's index.metric, else l2"
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    parser.add_argument("--batch-size", type=int, default=256, help="images encoded at once (default 256)")


def run(args: argparse.Namespace) -> int:
    """Build the pack's index from its dataset split and save it under the pack's index folder."""
    from explorer.data.base import DatasetUnavailable
    from explorer.devices import resolve_device
    from explorer.importer import pack_dataset
    from explorer.index import build_pack_index
    from explorer.packs import open_pack

    try:
        device = resolve_device(args.device)
    except ValueError as error:
        print(f"latent-explorer index: {error}", file=sys.stderr)
        return 2
    pack = open_pack(args.pack)
    try:
        dataset = pack_dataset(pack, args.split)
    except DatasetUnavailable as error:
        print(f"cannot index pack {pack.name!r}: {error}", file=sys.stderr)
        return 1
    index = build_pack_index(pack, dataset, args.batch_size, device, metric=args.metric)
    directory = index.save(pack.index_dir)
    params = index.metadata["index"]
    print(
        f"indexed {len(index)} {args.split} images of pack {pack.name!r} "
        f"({index.metric}, {params['kind']}) on {device}"
    )
    print(f"saved to {directory}")
    return 0
